/** Recognising host adapter failures by their stable code (HostError and NativeError both carry one). */
export function isHostErrorCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
