/**
 * Whether a path lies inside a folder, as the file system sees it: both resolved first (no `..`, one kind of
 * separator), and compared without case on Windows, whose file systems do not tell `C:\R` from `c:\r`.
 */
import { posix, win32 } from 'node:path';

export function isPathWithin(path: string, folder: string, platform: NodeJS.Platform = process.platform): boolean {
  const paths = platform === 'win32' ? win32 : posix;
  const fold = (p: string) => (platform === 'win32' ? paths.resolve(p).toLowerCase() : paths.resolve(p));
  const rel = paths.relative(fold(folder), fold(path));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${paths.sep}`) && !paths.isAbsolute(rel));
}
