import type { VmDescription, VmSummary } from '../../../host/host-adapter.js';
import { CliError } from '../../cli-error.js';
import { ExitCode } from '../../exit-codes.js';
import type { CommandResult } from '../../output.js';
import { parseSize } from '../disk/size.js';
import { fileHost } from './file-host.js';
import type { VmRootOptions } from './host.js';

const MiB = 1024 * 1024;

function sizeText(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1 && value % 1024 === 0) {
    value /= 1024;
    unit++;
  }
  return `${value}${units[unit]}`;
}

function describeHuman(vm: VmDescription): string {
  const lines = [
    `Name        : ${vm.name}`,
    `Id          : ${vm.id}`,
    `State       : ${vm.state}${vm.isReplica ? ' (replica)' : ''}${vm.isTestVm ? ' (test VM)' : ''}`,
    `Generation  : ${vm.configuration.generation}, ${vm.configuration.processorCount} processors, ${sizeText(vm.configuration.memoryBytes)} memory`,
    'Disks       :',
    ...vm.disks.map((d) => `  ${d.id}  ${sizeText(d.virtualSize)}  ${d.currentPath}`),
    `Points      : ${vm.referencePoints.length === 0 ? 'none' : ''}`,
    ...vm.referencePoints.map((p) => `  ${p.id}  ${p.state}  ${p.createdAt}`),
  ];
  return lines.join('\n');
}

function summaryHuman(vm: VmSummary): string {
  return `${vm.name}  ${vm.state}  ${vm.id}`;
}

export async function vmNew(
  args: VmRootOptions & { name: string; disk: string[]; generation: 1 | 2; processors: number; memory: string; 'block-size'?: string },
): Promise<CommandResult<VmDescription>> {
  const disks = args.disk.map((text) => {
    const bytes = parseSize('disk', text);
    if (bytes === 0 || bytes % MiB !== 0) throw new CliError('ERR_USAGE', `--disk ${text}: a disk is a positive whole number of MiB (e.g. 8GiB)`, ExitCode.Usage);
    return bytes;
  });
  if (!Number.isInteger(args.processors) || args.processors < 1) {
    throw new CliError('ERR_USAGE', `--processors ${args.processors}: give a positive whole number`, ExitCode.Usage);
  }
  const vm = await fileHost(args).createVm({
    name: args.name,
    disks,
    generation: args.generation,
    processorCount: args.processors,
    memoryBytes: parseSize('memory', args.memory),
    ...(args['block-size'] ? { blockSize: parseSize('block-size', args['block-size']) } : {}),
  });
  return { data: vm, human: describeHuman(vm) };
}

export async function vmList(args: VmRootOptions): Promise<CommandResult<{ vms: VmSummary[] }>> {
  const vms = await fileHost(args).listVms();
  return { data: { vms }, human: vms.length === 0 ? 'no VMs' : vms.map(summaryHuman).join('\n') };
}

export async function vmShow(args: VmRootOptions & { name: string }): Promise<CommandResult<VmDescription>> {
  const vm = await fileHost(args).getVm(args.name);
  return { data: vm, human: describeHuman(vm) };
}

export async function vmStart(args: VmRootOptions & { name: string }): Promise<CommandResult<VmSummary>> {
  const vm = await fileHost(args).startVm(args.name);
  return { data: vm, human: summaryHuman(vm) };
}

export async function vmStop(args: VmRootOptions & { name: string }): Promise<CommandResult<VmSummary>> {
  const vm = await fileHost(args).stopVm(args.name);
  return { data: vm, human: summaryHuman(vm) };
}

export async function vmRemove(args: VmRootOptions & { name: string; force: boolean }): Promise<CommandResult<{ removed: { id: string; name: string } }>> {
  const host = fileHost(args);
  const vm = await host.getVm(args.name);
  await host.removeVm(vm.id, { force: args.force });
  return { data: { removed: { id: vm.id, name: vm.name } }, human: `removed ${vm.name} (${vm.id})` };
}
