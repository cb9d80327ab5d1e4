/**
 * The file host as Hyper-V behaves towards a running VM's disks: it reports the chain held open while the
 * VM is not off (HostAdapter.vmHoldsDiskFiles), so `failover complete` on a running VM keeps the recovery
 * point's chain (src/failover/held-chain.ts) exactly as on Hyper-V — with real VHDX files and real
 * servers, where the WMI fake (test/hyperv-unit) cannot take part. Everything else is the file host's.
 */
import { FileHost } from '../../src/host/file/file-host.js';

export class HoldingFileHost extends FileHost {
  override async vmHoldsDiskFiles(nameOrId: string): Promise<boolean> {
    return (await this.getVm(nameOrId)).state !== 'off';
  }
}
