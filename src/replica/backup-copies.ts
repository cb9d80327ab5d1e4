/**
 * Copies of a VM's disks that the administrator put on the replica host (a restored backup, disks
 * carried over on media) for an initial replication that sends only what differs
 * (`hvreplica initial import --vm-name X --use-backup --path <folder>`, then on the primary
 * `hvreplica initial start --vm-name X --use-backup`). Hyper-V marks such a VM with
 * `Enable-VMReplication -AsReplica`; here the copy is registered by VM name, because the replica learns
 * the VM's id only when the primary first contacts it. The copy is read, never written.
 *
 *   <state>/replica/backups.json   [{ Id, VMName, Path, Disks: [{ File, Name, VirtualSize, LogicalSectorSize }] }]
 */
import { randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { openDisk } from '../vhdx/index.js';
import { readJsonFile, withFileLock, writeFileAtomic } from './atomic-file.js';
import { ReplicaError } from './errors.js';

export interface BackupDisk {
  /** File name inside the copy's folder. */
  File: string;
  /** The file name without its extension: matched against the primary's disk ids. */
  Name: string;
  VirtualSize: number;
  LogicalSectorSize: 512 | 4096;
}

export interface BackupCopy {
  /** Names the seed: the replica's first reference point is `backup-<Id>`. */
  Id: string;
  VMName: string;
  /** Absolute folder of the copy. */
  Path: string;
  Disks: BackupDisk[];
  RegisteredAt: string;
}

export class BackupCopies {
  private readonly file: string;
  constructor(stateDir: string) {
    this.file = join(stateDir, 'replica', 'backups.json');
  }

  async list(): Promise<BackupCopy[]> {
    return (await readJsonFile<BackupCopy[]>(this.file)) ?? [];
  }

  async find(vmName: string): Promise<BackupCopy | undefined> {
    return (await this.list()).find((c) => c.VMName.toLowerCase() === vmName.toLowerCase());
  }

  /**
   * Registers the .vhdx files of `folder` as the copy of VM `vmName` (replacing an earlier registration
   * of that name). Each file is opened as a VHDX, so a damaged or foreign file is refused now, not later.
   */
  async register(vmName: string, folder: string): Promise<BackupCopy> {
    const name = vmName.trim();
    if (name.length === 0 || name.length > 256) throw new ReplicaError('ERR_INVALID_ARGUMENT', 'the VM name must be 1 to 256 characters');
    const path = resolve(folder);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory()) throw new ReplicaError('ERR_NOT_FOUND', `${path} is not a folder; give the folder that holds the copied .vhdx files`);
    const files = (await readdir(path)).filter((f) => f.toLowerCase().endsWith('.vhdx')).sort();
    if (files.length === 0) throw new ReplicaError('ERR_NOT_FOUND', `${path} holds no .vhdx file; copy the VM's disks there first`);
    const disks: BackupDisk[] = [];
    for (const file of files) {
      let disk;
      try {
        disk = await openDisk(join(path, file), { writable: false });
      } catch (error) {
        throw new ReplicaError('ERR_INVALID_ARGUMENT', `${join(path, file)} cannot be read as a VHDX (${(error as Error).message})`);
      }
      try {
        disks.push({ File: file, Name: file.slice(0, -'.vhdx'.length), VirtualSize: disk.info.virtualSize, LogicalSectorSize: disk.info.logicalSectorSize });
      } finally {
        await disk.close();
      }
    }
    const copy: BackupCopy = { Id: randomUUID(), VMName: name, Path: path, Disks: disks, RegisteredAt: new Date().toISOString() };
    await withFileLock(this.file, async () => {
      const others = (await this.list()).filter((c) => c.VMName.toLowerCase() !== name.toLowerCase());
      await writeFileAtomic(this.file, `${JSON.stringify([...others, copy], null, 2)}\n`);
    });
    return copy;
  }
}
