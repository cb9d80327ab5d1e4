/** Public API of the host adapters (see host-adapter.ts for the interface). */
export type * from './host-adapter.js';
export type { AllocationExtent, DiskImage } from './disk-image.js';
export { HostError, type HostErrorCode } from './host-error.js';
export { createHostAdapter, type HostAdapterOptions } from './factory.js';
export { FileHost, type FileHostOptions, type NewVmSpec, type WritableDisk } from './file/file-host.js';
export { runWorkload, workloadData, type JournalEntry, type WorkloadOptions, type WorkloadReport } from './file/workload.js';
export { RawFileImage } from './raw-image.js';
export { VhdxImage } from './vhdx-image.js';
