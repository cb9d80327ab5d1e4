/**
 * Saved manifests of the states a hash tracker has seen, one file per tracking id in a directory, written
 * atomically (temporary file + rename) so a crash never leaves a half manifest under a valid name.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeManifest, encodeManifest, type HashManifest } from './manifest.js';
import { readFileIfExists } from '../../util/read-if-exists.js';

const ID_PATTERN = /^hash-[a-z0-9]+-\d+-[0-9a-f]{32}$/;

export function isHashTrackingId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export class ManifestStore {
  constructor(readonly directory: string) {}

  private pathOf(id: string): string {
    if (!isHashTrackingId(id)) throw new RangeError(`'${id}' is not a hash tracking id`);
    return join(this.directory, `${id}.hvrmanifest`);
  }

  async save(id: string, manifest: HashManifest): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const path = this.pathOf(id);
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, encodeManifest(manifest));
    await rename(temporary, path);
  }

  /** The manifest saved under `id`, or undefined when none is. */
  async load(id: string): Promise<HashManifest | undefined> {
    if (!isHashTrackingId(id)) return undefined;
    const path = this.pathOf(id);
    const bytes = await readFileIfExists(path);
    return bytes && decodeManifest(bytes, path);
  }

  async remove(id: string): Promise<void> {
    await rm(this.pathOf(id), { force: true });
  }
}
