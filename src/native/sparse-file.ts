/**
 * Sparse files where the file system needs to be told (NTFS, ReFS): there a file's unwritten ranges below
 * its end are allocated and zero-filled when a later range is written, so a file written with holes costs
 * its whole length in writes unless it is marked sparse first. POSIX file systems leave holes alone.
 */
import { binding } from './binding.js';

/** Marks the existing file sparse; false where the file system has no sparse files (it is then written whole). */
export function markSparse(path: string): Promise<boolean> {
  return binding().markSparse(path);
}
