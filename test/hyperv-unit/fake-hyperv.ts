/**
 * A fake of Hyper-V's WMI provider (root\virtualization\v2) that follows Microsoft's documented
 * behaviour for the classes hvreplica uses: methods answer 0 or 4096 + a Msvm_ConcreteJob whose
 * JobState goes Running → Completed (7) or Exception (10) with ErrorCode/ErrorDescription; CreateSnapshot
 * type 32768 makes a "Microsoft:Hyper-V:Snapshot:Recovery" checkpoint whose disks are the files the VM
 * wrote until then (frozen) while the VM moves on to a new .avhdx; ConvertToReferencePoint deletes the
 * checkpoint and yields an Msvm_VirtualSystemReferencePoint with VirtualDiskIdentifiers[i] ↔
 * ResilientChangeTrackingIdentifiers[i]; planned VMs come from ImportSystemDefinition and become real
 * with RealizePlannedSystem. Faults are injected per method. Every call is recorded for order checks.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClockFake, WmiFake, WmiObjectData, WmiValue } from '../../src/host/hyperv/native.js';
import { openDisk } from '../../src/vhdx/index.js';

/** Bytes of the guest-state file Hyper-V exports beside a generation 2 VM's .vmcx (mostly zero). */
export const FAKE_VMGS_BYTES = 4 * 1024 * 1024;

export interface Fault {
  /** Method answers this ReturnValue instead of 0/4096. */
  returnValue?: number;
  /** The job ends in this state (10 Exception, 8 Terminated) with ErrorCode/ErrorDescription. */
  jobState?: number;
  errorCode?: number;
  errorDescription?: string;
  /** The job never leaves Running (a hung guest VSS writer). */
  hang?: boolean;
  /** For CreateSnapshot with hang or failure: the checkpoint still appears (Hyper-V made it before failing). */
  leaveSnapshot?: boolean;
  /** The call itself fails with this HRESULT (WBEM_E_*). */
  hresult?: number;
  /** Only when the method's params match (e.g. ConsistencyLevel 1). */
  when?: (params: Record<string, WmiValue>) => boolean;
  /** Apply once, then behave normally. */
  once?: boolean;
}

export interface FakeDiskSpec {
  controller?: number;
  slot?: number;
  path: string;
  virtualSize?: number;
}

export interface FakeVmSpec {
  id: string;
  name: string;
  version?: string;
  generation?: 1 | 2;
  state?: number;
  processors?: number;
  memoryMB?: number;
  disks: FakeDiskSpec[];
  nics?: Array<{ name: string; mac: string; switchName?: string }>;
}

interface Job {
  path: string;
  polls: number;
  runningPolls: number;
  finalState: number;
  errorCode: number;
  errorDescription: string;
  affected: string[];
  terminated: boolean;
  onComplete?: () => void;
}

export class FakeClock implements ClockFake {
  time = 1_000_000;
  sleeps: number[] = [];
  now(): number {
    return this.time;
  }
  sleep(ms: number): void {
    this.sleeps.push(ms);
    this.time += ms;
  }
}

const NS = '\\\\HOST\\root\\virtualization\\v2:';

let guidCounter = 0;
export function fakeGuid(): string {
  guidCounter += 1;
  const hex = guidCounter.toString(16).padStart(12, '0');
  return `5bfde23b-ce75-4303-b54f-${hex}`.toUpperCase();
}

export class FakeHyperV implements WmiFake {
  readonly objects = new Map<string, WmiObjectData>();
  /** "Method path" of every ExecMethod, in order. */
  readonly calls: Array<{ method: string; path: string; params: Record<string, WmiValue> }> = [];
  readonly queries: string[] = [];
  readonly faults = new Map<string, Fault[]>();
  /** Embedded instances handed out by embedInstance, by their text. */
  readonly embedded = new Map<string, { classOrPath: string; properties: Record<string, WmiValue> }>();
  /** Polls a job stays Running before it ends. */
  runningPolls = 2;
  private readonly jobs = new Map<string, Job>();
  private counter = 0;
  private rctSequence = new Map<string, number>();
  private exports = new Map<string, { vmId: string; name: WmiValue; components: WmiObjectData[] }>();
  unavailable = false;
  /** Real .vmcx files ImportSystemDefinition read, in order. */
  readonly importedFiles: string[] = [];
  /** Gives the RCT id a disk file gets when its checkpoint becomes a reference point (e.g. FakeVirtDisk.seal). */
  rctSeal?: (diskPath: string) => string;

  constructor() {
    for (const cls of [
      'Msvm_VirtualSystemSnapshotService',
      'Msvm_VirtualSystemReferencePointService',
      'Msvm_VirtualSystemManagementService',
      'Msvm_ImageManagementService',
    ]) {
      this.put({ path: `${NS}${cls}.Name="svc"`, className: cls, properties: { Name: 'svc' } });
    }
  }

  fail(method: string, fault: Fault): void {
    const list = this.faults.get(method) ?? [];
    list.push(fault);
    this.faults.set(method, list);
  }

  // ---- model -----------------------------------------------------------------------------------

  addVm(spec: FakeVmSpec): string {
    const vmPath = `${NS}Msvm_ComputerSystem.Name="${spec.id}"`;
    this.put({
      path: vmPath,
      className: 'Msvm_ComputerSystem',
      properties: { Name: spec.id, ElementName: spec.name, EnabledState: spec.state ?? 2, Caption: 'Virtual Machine' },
    });
    const vssd = this.settings(`Microsoft:${spec.id}`, {
      Version: spec.version ?? '9.0',
      VirtualSystemSubType: `Microsoft:Hyper-V:SubType:${spec.generation ?? 2}`,
      VirtualSystemType: 'Microsoft:Hyper-V:System:Realized',
      ElementName: spec.name,
      ownerPath: vmPath,
      definesState: true,
    });
    this.component(vssd, 'Msvm_ProcessorSettingData', `Microsoft:${spec.id}\\proc`, { VirtualQuantity: spec.processors ?? 2 });
    this.component(vssd, 'Msvm_MemorySettingData', `Microsoft:${spec.id}\\mem`, {
      VirtualQuantity: spec.memoryMB ?? 2048,
      DynamicMemoryEnabled: false,
    });
    spec.disks.forEach((disk, i) => {
      const id = `Microsoft:${spec.id}\\83F8638B-8DCA-4152-9EDA-2CA8B33039B4\\${disk.controller ?? 0}\\${disk.slot ?? i}\\L`;
      this.component(vssd, 'Msvm_StorageAllocationSettingData', id, {
        ResourceType: 31,
        ResourceSubType: 'Microsoft:Hyper-V:Virtual Hard Disk',
        HostResource: [disk.path],
      });
      this.diskSizes.set(disk.path, disk.virtualSize ?? 1 << 30);
    });
    (spec.nics ?? []).forEach((nic, i) => {
      const portId = `Microsoft:${spec.id}\\NIC${i}`;
      const port = this.component(vssd, 'Msvm_SyntheticEthernetPortSettingData', portId, {
        ElementName: nic.name,
        Address: nic.mac,
        StaticMacAddress: true,
      });
      this.component(vssd, 'Msvm_EthernetPortAllocationSettingData', `${portId}\\C`, {
        Parent: port.path.replace(/\\/g, '\\\\'),
        HostResource: nic.switchName ? [`${NS}Msvm_VirtualEthernetSwitch.Name="${nic.switchName}"`] : [],
        EnabledState: 2,
      });
      this.put({
        path: `${NS}Msvm_GuestNetworkAdapterConfiguration.InstanceID="${portId}\\G"`,
        className: 'Msvm_GuestNetworkAdapterConfiguration',
        properties: { InstanceID: `${portId}\\G`, DHCPEnabled: true, ownerPort: port.path },
      });
    });
    return vmPath;
  }

  readonly diskSizes = new Map<string, number>();

  /** The VM leaves this host (as if it lived on another one): system, settings and components. */
  removeVm(id: string): void {
    const vmPath = this.vmPath(id);
    const vssd = [...this.objects.values()].find((o) => o.properties.definesStateOf === vmPath);
    if (vssd) {
      for (const o of [...this.objects.values()]) if (o.properties.componentOf === vssd.path) this.objects.delete(o.path);
      this.objects.delete(vssd.path);
    }
    this.objects.delete(vmPath);
  }

  vmPath(id: string): string {
    return `${NS}Msvm_ComputerSystem.Name="${id}"`;
  }

  /** Checkpoints (recovery and standard) of a VM. */
  snapshotsOf(vmId: string): WmiObjectData[] {
    return [...this.objects.values()].filter(
      (o) => o.className === 'Msvm_VirtualSystemSettingData' && o.properties.snapshotOf === this.vmPath(vmId),
    );
  }

  referencePointsOf(vmId: string): WmiObjectData[] {
    return [...this.objects.values()].filter(
      (o) => o.className === 'Msvm_VirtualSystemReferencePoint' && o.properties.VirtualSystemIdentifier === vmId,
    );
  }

  plannedSystems(): WmiObjectData[] {
    return [...this.objects.values()].filter((o) => o.className === 'Msvm_PlannedComputerSystem');
  }

  vmDisks(vmId: string): WmiObjectData[] {
    const vssd = this.definingSettings(this.vmPath(vmId));
    return this.componentsOf(vssd.path, 'Msvm_StorageAllocationSettingData');
  }

  /**
   * The files Hyper-V holds open for the VMs that are not off, as Hyper-V documents for a running VM: each
   * disk's current file (opened exclusively: the VM writes it) and every parent of its chain (opened
   * read-only, shared with readers): none of them may be deleted, re-parented or rewritten by anyone else.
   * Returns each file with what must stay as it is: a parent's SHA-256, the top's parent link.
   */
  async heldFiles(): Promise<HeldFile[]> {
    const held: HeldFile[] = [];
    for (const vm of [...this.objects.values()].filter((o) => o.className === 'Msvm_ComputerSystem' && o.properties.EnabledState !== 3)) {
      for (const disk of this.vmDisks(String(vm.properties.Name))) {
        const top = (disk.properties.HostResource as string[])[0]!;
        if (!existsSync(top)) continue;
        const chain = await chainOf(top);
        held.push({ path: top, parentPath: chain[1] });
        for (const parent of chain.slice(1)) held.push({ path: parent, sha256: sha256OfFile(parent) });
      }
    }
    return held;
  }

  /**
   * Throws the sharing violation Hyper-V's open handles would have raised (ERROR_SHARING_VIOLATION,
   * ERROR_ACCESS_DENIED) for each held file another process deleted, rewrote or re-parented meanwhile.
   */
  async assertHeldUntouched(held: readonly HeldFile[]): Promise<void> {
    const broken: string[] = [];
    for (const file of held) {
      if (!existsSync(file.path)) broken.push(`${file.path} was deleted`);
      else if (file.sha256 !== undefined && sha256OfFile(file.path) !== file.sha256) broken.push(`${file.path} was rewritten`);
      else if (file.sha256 === undefined) {
        const parent = await chainOf(file.path).then(
          (chain) => chain[1],
          (error: Error) => `unreadable (${error.message})`,
        );
        if (parent !== file.parentPath) broken.push(`${file.path} was re-parented or lost its parent: ${parent ?? 'none'}`);
      }
    }
    if (broken.length > 0) throw new Error(`files a running VM holds open were touched (Hyper-V refuses that): ${broken.join('; ')}`);
  }

  /** What ExportSystemDefinition wrote: the .vmcx path → the VM it describes. */
  exportedDefinition(vmcx: string, vmId: string): void {
    const vssd = this.definingSettings(this.vmPath(vmId));
    const components = [...this.objects.values()]
      .filter((o) => o.properties.componentOf === vssd.path)
      .map((o) => ({ ...o, properties: { ...o.properties } }));
    this.exports.set(vmcx, { vmId, name: this.objects.get(this.vmPath(vmId))!.properties.ElementName!, components });
  }

  private put(o: WmiObjectData): WmiObjectData {
    this.objects.set(o.path, o);
    return o;
  }

  private settings(
    instanceId: string,
    props: Record<string, WmiValue> & { ownerPath: string; definesState?: boolean },
  ): WmiObjectData {
    const { ownerPath, definesState, ...rest } = props;
    return this.put({
      path: `${NS}Msvm_VirtualSystemSettingData.InstanceID="${instanceId}"`,
      className: 'Msvm_VirtualSystemSettingData',
      properties: { InstanceID: instanceId, ...rest, ...(definesState ? { definesStateOf: ownerPath } : { snapshotOf: ownerPath }) },
    });
  }

  private component(vssd: WmiObjectData, cls: string, instanceId: string, props: Record<string, WmiValue>): WmiObjectData {
    return this.put({
      path: `${NS}${cls}.InstanceID="${instanceId}"`,
      className: cls,
      properties: { InstanceID: instanceId, ...props, componentOf: vssd.path },
    });
  }

  private componentsOf(vssdPath: string, cls: string): WmiObjectData[] {
    return [...this.objects.values()].filter((o) => o.className === cls && o.properties.componentOf === vssdPath);
  }

  private definingSettings(systemPath: string): WmiObjectData {
    const found = [...this.objects.values()].find(
      (o) => o.className === 'Msvm_VirtualSystemSettingData' && o.properties.definesStateOf === systemPath,
    );
    if (!found) throw { hresult: 0x80041002 };
    return found;
  }

  // ---- WmiFake ---------------------------------------------------------------------------------

  query(wql: string): WmiObjectData[] {
    this.queries.push(wql);
    if (this.unavailable) throw Object.assign(new Error('invalid namespace'), { hresult: 0x8004100e });
    const fault = this.takeFault(`query:${wql.split(' ResultClass=')[1] ?? wql}`, {});
    if (fault?.hresult) throw Object.assign(new Error('query failed'), { hresult: fault.hresult });
    let m = /^SELECT \* FROM Msvm_ComputerSystem WHERE Name='([^']*)'$/.exec(wql);
    if (m) return [...this.objects.values()].filter((o) => o.className === 'Msvm_ComputerSystem' && o.properties.Name === m![1]);
    if (wql === "SELECT * FROM Msvm_ComputerSystem WHERE Caption='Virtual Machine'") {
      return [...this.objects.values()].filter((o) => o.className === 'Msvm_ComputerSystem');
    }
    m = /^SELECT \* FROM (\w+)$/.exec(wql);
    if (m) return [...this.objects.values()].filter((o) => o.className === m![1]);
    m = /^ASSOCIATORS OF \{(.*)\} WHERE AssocClass=(\w+) ResultClass=(\w+)$/.exec(wql);
    if (!m) throw Object.assign(new Error(`fake cannot answer ${wql}`), { hresult: 0x80041017 });
    const [, path, assoc, result] = m;
    const of = path!;
    switch (assoc) {
      case 'Msvm_SettingsDefineState':
        return [...this.objects.values()].filter((o) => o.className === result && o.properties.definesStateOf === of);
      case 'Msvm_VirtualSystemSettingDataComponent':
        return this.componentsOf(of, result!);
      case 'Msvm_SnapshotOfVirtualSystem':
        return [...this.objects.values()].filter((o) => o.className === result && o.properties.snapshotOf === of);
      case 'Msvm_ReferencePointOfVirtualSystem': {
        const vm = this.objects.get(of);
        return vm ? this.referencePointsOf(String(vm.properties.Name)) : [];
      }
      case 'Msvm_AffectedJobElement': {
        const job = this.jobs.get(of);
        return (job?.affected ?? []).map((p) => this.objects.get(p)).filter((o): o is WmiObjectData => !!o && o.className === result);
      }
      case 'Msvm_SettingDataComponent':
        return [...this.objects.values()].filter((o) => o.className === result && o.properties.ownerPort === of);
      case 'Msvm_SystemDevice':
        return [];
      default:
        throw Object.assign(new Error(`fake has no association ${assoc}`), { hresult: 0x80041010 });
    }
  }

  getObject(path: string): WmiObjectData {
    const job = this.jobs.get(path);
    if (job) {
      job.polls += 1;
      let state = 4;
      if (!job.terminated && job.runningPolls >= 0 && job.polls > job.runningPolls) {
        state = job.finalState;
        if (state === 7 && job.onComplete) {
          job.onComplete();
          job.onComplete = undefined;
        }
      }
      if (job.terminated) state = 8;
      return {
        path,
        className: 'Msvm_ConcreteJob',
        properties: {
          JobState: state,
          ErrorCode: state === 7 || state === 4 ? 0 : job.errorCode,
          ErrorDescription: state === 7 || state === 4 ? '' : job.errorDescription,
          PercentComplete: state === 7 ? 100 : 40,
        },
      };
    }
    const o = this.objects.get(path);
    if (!o) throw Object.assign(new Error('not found'), { hresult: 0x80041002 });
    return o;
  }

  embedInstance(classOrPath: string, properties: Record<string, WmiValue>): string {
    this.counter += 1;
    const text = `<INSTANCE CLASSNAME="${classOrPath}" n="${this.counter}"/>`;
    this.embedded.set(text, { classOrPath, properties });
    return text;
  }

  execMethod(path: string, method: string, params: Record<string, WmiValue>): WmiObjectData {
    this.calls.push({ method, path, params });
    if (method === 'RequestStateChange' && this.jobs.has(path)) {
      this.jobs.get(path)!.terminated = true;
      return out({ ReturnValue: 0 });
    }
    if (!this.objects.has(path)) throw Object.assign(new Error('no such object'), { hresult: 0x80041002 });
    const fault = this.takeFault(method, params);
    if (fault?.hresult) throw Object.assign(new Error('exec failed'), { hresult: fault.hresult });
    if (fault?.returnValue !== undefined) return out({ ReturnValue: fault.returnValue });
    let result: ReturnType<FakeHyperV['perform']>;
    try {
      result = this.perform(method, params, fault);
    } catch (error) {
      if (error instanceof MethodFailure) return out({ ReturnValue: error.returnValue });
      throw error;
    }
    const job = this.newJob(result.affected, fault, result.apply);
    return out({ ReturnValue: 4096, Job: job.path, ...result.outRefs(job) });
  }

  // ---- behaviour ---------------------------------------------------------------------------------

  private takeFault(method: string, params: Record<string, WmiValue>): Fault | undefined {
    const list = this.faults.get(method);
    if (!list) return undefined;
    const index = list.findIndex((f) => !f.when || f.when(params));
    if (index < 0) return undefined;
    const fault = list[index]!;
    if (fault.once) list.splice(index, 1);
    return fault;
  }

  private newJob(affected: string[], fault: Fault | undefined, apply: () => void): Job {
    this.counter += 1;
    const failing = fault && (fault.jobState !== undefined || fault.hang);
    const job: Job = {
      path: `${NS}Msvm_ConcreteJob.InstanceID="job-${this.counter}"`,
      polls: 0,
      runningPolls: fault?.hang ? Number.MAX_SAFE_INTEGER : this.runningPolls,
      finalState: fault?.jobState ?? 7,
      errorCode: fault?.errorCode ?? 32768,
      errorDescription: fault?.errorDescription ?? '',
      affected,
      terminated: false,
    };
    if (!failing) {
      job.onComplete = apply;
    } else if (fault?.leaveSnapshot) {
      apply();
    }
    this.jobs.set(job.path, job);
    return job;
  }

  private embeddedProps(text: WmiValue): Record<string, WmiValue> {
    const found = typeof text === 'string' ? this.embedded.get(text) : undefined;
    if (!found) throw Object.assign(new Error('not an embedded instance'), { hresult: 0x8004102f });
    return found.properties;
  }

  private nextRctId(diskPath: string): string {
    const seq = (this.rctSequence.get(diskPath) ?? 0) + 1;
    this.rctSequence.set(diskPath, seq);
    const guid = `5BFDE23B:CE75:4303:B54F:${(0x6c18394f1000 + [...diskPath].reduce((a, c) => a + c.charCodeAt(0), 0)).toString(16).toUpperCase()}`;
    return `rctX:${guid}:${seq.toString().padStart(8, '0')}`;
  }

  private perform(
    method: string,
    params: Record<string, WmiValue>,
    fault: Fault | undefined,
  ): { affected: string[]; apply: () => void; outRefs: (job: Job) => Record<string, WmiValue> } {
    const none = { affected: [] as string[], apply: () => undefined, outRefs: () => ({}) };
    switch (method) {
      case 'CreateSnapshot': {
        const vmPath = String(params.AffectedSystem);
        const vm = this.objects.get(vmPath)!;
        const vmId = String(vm.properties.Name);
        const settings = this.embeddedProps(params.SnapshotSettings!);
        const snapId = fakeGuid();
        const snapPath = `${NS}Msvm_VirtualSystemSettingData.InstanceID="Microsoft:${snapId}"`;
        const type = params.SnapshotType === 32768 ? 'Microsoft:Hyper-V:Snapshot:Recovery' : 'Microsoft:Hyper-V:Snapshot:Realized';
        const apply = () => {
          const snap = this.settings(`Microsoft:${snapId}`, { VirtualSystemType: type, ownerPath: vmPath });
          snap.properties.ConsistencyLevel = settings.ConsistencyLevel ?? null;
          for (const disk of this.vmDisks(vmId)) {
            const current = (disk.properties.HostResource as string[])[0]!;
            const key = String(disk.properties.InstanceID).split('\\').slice(1).join('\\');
            this.component(snap, 'Msvm_StorageAllocationSettingData', `Microsoft:${snapId}\\${key}`, {
              ResourceType: 31,
              ResourceSubType: 'Microsoft:Hyper-V:Virtual Hard Disk',
              HostResource: [current],
            });
            // The VM now writes into a new differencing layer; the file above is frozen.
            // Freezing a disk fixes its change-tracking state: it gets a new most-recent RCT id.
            if (type.endsWith(':Recovery') && this.rctSeal) this.rctSeal(current);
            const layer = current.replace(/(_[0-9A-F-]+)?\.a?vhdx$/i, `_${snapId}.avhdx`);
            this.diskSizes.set(layer, this.diskSizes.get(current) ?? 1 << 30);
            disk.properties.HostResource = [layer];
          }
        };
        void fault;
        return { affected: [vmPath, snapPath], apply, outRefs: () => ({}) };
      }
      case 'ConvertToReferencePoint': {
        const snapPath = String(params.AffectedSnapshot);
        const snap = this.objects.get(snapPath)!;
        const vmPath = String(snap.properties.snapshotOf);
        const vmId = String(this.objects.get(vmPath)!.properties.Name);
        const rpId = fakeGuid();
        const rpPath = `${NS}Msvm_VirtualSystemReferencePoint.InstanceID="Microsoft:${rpId}"`;
        const apply = () => {
          // The checkpoint's AVHDX merges back first: the reference point seals the VM's own disks.
          const consistency = snap.properties.ConsistencyLevel ?? 2;
          this.removeSnapshot(snapPath);
          const disks = this.vmDisks(vmId);
          this.put({
            path: rpPath,
            className: 'Msvm_VirtualSystemReferencePoint',
            properties: {
              InstanceID: `Microsoft:${rpId}`,
              VirtualSystemIdentifier: vmId,
              ReferencePointType: 2,
              ConsistencyLevel: consistency,
              VirtualDiskIdentifiers: disks.map((d) => String(d.properties.InstanceID)),
              ResilientChangeTrackingIdentifiers: disks.map((d) =>
                this.rctSeal ? this.rctSeal((d.properties.HostResource as string[])[0]!) : this.nextRctId(String(d.properties.InstanceID)),
              ),
            },
          });
        };
        return { affected: [rpPath], apply, outRefs: () => ({}) };
      }
      case 'DestroySnapshot': {
        const snapPath = String(params.AffectedSnapshot);
        if (!this.objects.has(snapPath)) throw Object.assign(new Error('gone'), { hresult: 0x80041002 });
        return { ...none, apply: () => this.removeSnapshot(snapPath) };
      }
      case 'DestroyReferencePoint': {
        const rpPath = String(params.AffectedReferencePoint);
        if (!this.objects.has(rpPath)) throw Object.assign(new Error('gone'), { hresult: 0x80041002 });
        return { ...none, apply: () => void this.objects.delete(rpPath) };
      }
      case 'ExportSystemDefinition': {
        // Writes what Hyper-V writes with CreateVmExportSubdirectory=false: Virtual Machines\<ID>.vmcx
        // (here: the settings as JSON, which ImportSystemDefinition reads back) and, for generation 2,
        // the guest state .vmgs; never a disk (CopyVmStorage=false).
        const vm = this.objects.get(String(params.ComputerSystem))!;
        const vmId = String(vm.properties.Name);
        const settings = this.embeddedProps(params.ExportSettingData!);
        const dir = String(params.ExportDirectory);
        const apply = () => {
          const vssd = this.definingSettings(this.vmPath(vmId));
          const components = [...this.objects.values()].filter((o) => o.properties.componentOf === vssd.path);
          const folder = join(dir, 'Virtual Machines');
          mkdirSync(folder, { recursive: true });
          const body = { vmId, name: vm.properties.ElementName, settings: vssd.properties, components, exportSettings: settings };
          writeFileSync(join(folder, `${vmId.toUpperCase()}.vmcx`), JSON.stringify(body));
          if (String(vssd.properties.VirtualSystemSubType).endsWith(':2')) {
            const vmgs = Buffer.alloc(FAKE_VMGS_BYTES);
            vmgs.write(`guest state of ${vmId}`, 0);
            writeFileSync(join(folder, `${vmId.toUpperCase()}.vmgs`), vmgs);
          }
        };
        return { ...none, apply };
      }
      case 'GetVirtualHardDiskSettingData': {
        const path = String(params.Path);
        // Hyper-V reads the file: a real VHDX the test (or the failover library) made tells its own size.
        const size = this.diskSizes.get(path) ?? vhdxVirtualSize(path) ?? 1 << 30;
        const xml =
          `<INSTANCE CLASSNAME="Msvm_VirtualHardDiskSettingData"><PROPERTY NAME="LogicalSectorSize" TYPE="uint32"><VALUE>512</VALUE></PROPERTY>` +
          `<PROPERTY NAME="MaxInternalSize" TYPE="uint64"><VALUE>${size}</VALUE></PROPERTY></INSTANCE>`;
        return { affected: [], apply: () => undefined, outRefs: () => ({ SettingData: xml }) };
      }
      case 'CreateVirtualHardDisk': {
        const p = this.embeddedProps(params.VirtualDiskSettingData!);
        return { ...none, apply: () => void this.diskSizes.set(String(p.Path), this.diskSizes.get(String(p.ParentPath)) ?? vhdxVirtualSize(String(p.ParentPath)) ?? 0) };
      }
      case 'ImportSystemDefinition': {
        const file = String(params.SystemDefinitionFile);
        let exported = this.exports.get(file);
        if (!exported && existsSync(file)) {
          // A .vmcx that ExportSystemDefinition wrote (possibly shipped to another folder meanwhile).
          const body = JSON.parse(readFileSync(file, 'utf8')) as { vmId: string; name: WmiValue; components: WmiObjectData[] };
          exported = { vmId: body.vmId, name: body.name, components: body.components };
          this.importedFiles.push(file);
        }
        if (!exported) throw Object.assign(new Error('no such file'), { hresult: 0x80070002 });
        const id = params.GenerateNewSystemIdentifier ? fakeGuid().toLowerCase() : exported.vmId;
        // A VM with that id exists already: Hyper-V refuses the import.
        if (this.objects.has(this.vmPath(id))) throw new MethodFailure(32775);
        const plannedPath = `${NS}Msvm_PlannedComputerSystem.Name="${id}"`;
        const apply = () => {
          this.put({ path: plannedPath, className: 'Msvm_PlannedComputerSystem', properties: { Name: id, ElementName: exported.name } });
          const vssd = this.settings(`Microsoft:Planned:${id}`, { ElementName: exported.name, ownerPath: plannedPath, definesState: true });
          for (const o of exported.components) {
            const key = String(o.properties.InstanceID).split('\\').slice(1).join('\\');
            const copy = this.component(vssd, o.className!, `Microsoft:${id}\\${key}`, { ...o.properties });
            copy.properties.componentOf = vssd.path;
            if (o.className === 'Msvm_SyntheticEthernetPortSettingData') {
              this.put({
                path: `${NS}Msvm_GuestNetworkAdapterConfiguration.InstanceID="Microsoft:${id}\\${key}\\G"`,
                className: 'Msvm_GuestNetworkAdapterConfiguration',
                properties: { InstanceID: `Microsoft:${id}\\${key}\\G`, DHCPEnabled: true, ownerPort: copy.path },
              });
            }
          }
          // Allocations follow their port to its new instance id.
          for (const alloc of this.componentsOf(vssd.path, 'Msvm_EthernetPortAllocationSettingData')) {
            const portKey = String(alloc.properties.InstanceID).split('\\').slice(1, -1).join('\\');
            const port = this.componentsOf(vssd.path, 'Msvm_SyntheticEthernetPortSettingData').find(
              (p) => String(p.properties.InstanceID).split('\\').slice(1).join('\\') === portKey,
            );
            if (port) alloc.properties.Parent = port.path.replace(/\\/g, '\\\\');
          }
        };
        return { affected: [plannedPath], apply, outRefs: () => ({}) };
      }
      case 'ModifyResourceSettings': {
        const list = params.ResourceSettings as string[];
        const changes = list.map((text) => ({ target: this.embedded.get(text)!.classOrPath, props: this.embeddedProps(text) }));
        // A drive's file changes only while its VM is off: running (or saved, paused) Hyper-V holds the
        // chain open and answers "Invalid state for this operation" (32775).
        for (const c of changes) {
          const disk = this.objects.get(c.target);
          if (c.props.HostResource === undefined || disk?.className !== 'Msvm_StorageAllocationSettingData') continue;
          const vm = this.objects.get(String(this.objects.get(String(disk.properties.componentOf))?.properties.definesStateOf));
          if (vm?.className === 'Msvm_ComputerSystem' && vm.properties.EnabledState !== 3) throw new MethodFailure(32775);
        }
        return { ...none, apply: () => changes.forEach((c) => Object.assign(this.objects.get(c.target)!.properties, c.props)) };
      }
      case 'ModifySystemSettings': {
        const text = String(params.SystemSettings);
        const target = this.embedded.get(text)!.classOrPath;
        const props = this.embeddedProps(text);
        return { ...none, apply: () => Object.assign(this.objects.get(target)!.properties, props) };
      }
      case 'ValidatePlannedSystem':
        return none;
      case 'RealizePlannedSystem': {
        const plannedPath = String(params.PlannedSystem);
        const planned = this.objects.get(plannedPath)!;
        const id = String(planned.properties.Name);
        const vmPath = this.vmPath(id);
        const vssd = this.definingSettings(plannedPath);
        const apply = () => {
          this.objects.delete(plannedPath);
          this.put({ path: vmPath, className: 'Msvm_ComputerSystem', properties: { Name: id, ElementName: vssd.properties.ElementName!, EnabledState: 3, Caption: 'Virtual Machine' } });
          vssd.properties.definesStateOf = vmPath;
        };
        return { affected: [vmPath], apply, outRefs: () => ({}) };
      }
      case 'DestroySystem': {
        const target = String(params.AffectedSystem);
        return {
          ...none,
          apply: () => {
            this.objects.delete(target);
            const vssd = [...this.objects.values()].find((o) => o.properties.definesStateOf === target);
            if (vssd) {
              for (const o of [...this.objects.values()]) if (o.properties.componentOf === vssd.path) this.objects.delete(o.path);
              this.objects.delete(vssd.path);
            }
          },
        };
      }
      case 'RequestStateChange': {
        const vm = this.objects.get(this.calls[this.calls.length - 1]!.path)!;
        return { ...none, apply: () => void (vm.properties.EnabledState = params.RequestedState!) };
      }
      case 'SetGuestNetworkAdapterConfiguration': {
        const configs = (params.NetworkConfiguration as string[]).map((t) => ({ target: this.embedded.get(t)!.classOrPath, props: this.embeddedProps(t) }));
        return { ...none, apply: () => configs.forEach((c) => Object.assign(this.objects.get(c.target)!.properties, c.props)) };
      }
      default:
        throw Object.assign(new Error(`fake has no method ${method}`), { hresult: 0x8004102e });
    }
  }

  /** Destroying (or converting) a checkpoint merges its AVHDX: the VM writes into the parent again. */
  private removeSnapshot(snapPath: string): void {
    const snap = this.objects.get(snapPath);
    const snapId = String(snap?.properties.InstanceID ?? '').replace(/^Microsoft:/, '');
    const vmPath = String(snap?.properties.snapshotOf ?? '');
    const vm = this.objects.get(vmPath);
    if (vm && snapId) {
      const frozen = [...this.objects.values()].filter((o) => o.properties.componentOf === snapPath && o.className === 'Msvm_StorageAllocationSettingData');
      for (const disk of this.vmDisks(String(vm.properties.Name))) {
        const current = (disk.properties.HostResource as string[])[0] ?? '';
        if (!current.includes(snapId)) continue;
        const key = String(disk.properties.InstanceID).split('\\').slice(1).join('\\');
        const parent = frozen.find((f) => String(f.properties.InstanceID).split('\\').slice(1).join('\\') === key);
        if (parent) disk.properties.HostResource = [...(parent.properties.HostResource as string[])];
      }
    }
    this.objects.delete(snapPath);
    for (const o of [...this.objects.values()]) if (o.properties.componentOf === snapPath) this.objects.delete(o.path);
  }
}

/** A file a running VM holds open (FakeHyperV.heldFiles). */
export interface HeldFile {
  path: string;
  /** A parent (read-only for everyone): its bytes must stay the same. */
  sha256?: string;
  /** The VM's top layer (it writes it): its parent link must stay the same. */
  parentPath?: string | undefined;
}

/** The files of a VHDX chain, top first (the VHDX engine reads the parent locators). */
async function chainOf(path: string): Promise<string[]> {
  const disk = await openDisk(path);
  try {
    return disk.info.chain;
  } finally {
    await disk.close();
  }
}

function sha256OfFile(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

class MethodFailure {
  constructor(readonly returnValue: number) {}
}

function out(properties: Record<string, WmiValue>): WmiObjectData {
  return { path: '', className: '__PARAMETERS', properties };
}

/** A GUID as VHDX stores it: the first three fields little-endian, the rest as written. */
function guidBytes(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
}

const METADATA_REGION = guidBytes('8B7CA206-4790-4B9A-B8FE-575F050F886E');
const VIRTUAL_DISK_SIZE = guidBytes('2FA54224-CD1B-4876-B211-5DBED83BF4B8');

/**
 * The virtual size recorded in a real VHDX file (region table at 192 KiB → metadata region → Virtual Disk
 * Size item, as the VHDX specification lays them out), or undefined for a path that is no VHDX file.
 */
export function vhdxVirtualSize(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const fd = openSync(path, 'r');
  try {
    const at = (offset: number, length: number): Buffer => {
      const b = Buffer.alloc(length);
      readSync(fd, b, 0, length, offset);
      return b;
    };
    if (at(0, 8).toString('latin1') !== 'vhdxfile') return undefined;
    const regions = at(192 * 1024, 64 * 1024);
    if (regions.toString('latin1', 0, 4) !== 'regi') return undefined;
    for (let i = 0; i < regions.readUInt32LE(8); i++) {
      const entry = regions.subarray(16 + i * 32, 48 + i * 32);
      if (!entry.subarray(0, 16).equals(METADATA_REGION)) continue;
      const start = Number(entry.readBigUInt64LE(16));
      const table = at(start, 64 * 1024);
      if (table.toString('latin1', 0, 8) !== 'metadata') return undefined;
      for (let j = 0; j < table.readUInt16LE(10); j++) {
        const item = table.subarray(32 + j * 32, 64 + j * 32);
        if (item.subarray(0, 16).equals(VIRTUAL_DISK_SIZE)) return Number(at(start + item.readUInt32LE(16), 8).readBigUInt64LE(0));
      }
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
