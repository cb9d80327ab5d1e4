/**
 * Which VMs a `--vm-name` selects (Hyper-V accepts * and ? wildcards, case-insensitive) and how a host's
 * VM description becomes what replication validation needs.
 */
import type { VmDescription, VmSummary } from '../host/host-adapter.js';
import type { DiskRef } from './types.js';
import type { VmForReplication } from './validation.js';

export function isWildcard(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

export function nameMatches(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return regex.test(name);
}

export function selectVms<T extends Pick<VmSummary, 'name'>>(vms: readonly T[], pattern: string): T[] {
  return vms.filter((vm) => nameMatches(pattern, vm.name));
}

/** "scsi:0:1" / "ide:1:0" → controller type, number, location (informative in the host's description). */
function controller(location: string | undefined): Omit<DiskRef, 'Path'> {
  const match = /^(scsi|ide):(\d+):(\d+)$/i.exec(location ?? '');
  if (!match) return { ControllerType: null, ControllerNumber: null, ControllerLocation: null };
  return { ControllerType: match[1]!.toUpperCase() as 'IDE' | 'SCSI', ControllerNumber: Number(match[2]), ControllerLocation: Number(match[3]) };
}

export function vmForReplication(vm: VmDescription): VmForReplication {
  return {
    id: vm.id,
    name: vm.name,
    isReplica: vm.isReplica || vm.isTestVm,
    disks: vm.disks.map((d) => ({ Path: d.basePath, ...controller(d.location) })),
  };
}
