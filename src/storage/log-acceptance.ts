/**
 * Whether a received log may join the replica, decided from the state alone (no I/O), so the rule is
 * testable on its own. The rule, in order:
 *   - it must be for this VM, one of its disks, with that disk's geometry;
 *   - it may complete a cycle already partly received (same generation, sequence and reference points);
 *   - it may replace the last received, unapplied cycle with the same base: the primary's delivery failed
 *     half-way (or its acknowledgement was lost), it discarded its point and now sends the union of
 *     changes under the same sequence;
 *   - it may be the next cycle: sequence 0 of a first or newer generation (a full copy), or the next
 *     sequence of the last known cycle whose new reference point is this log's base;
 *   - it may supersede the last applied cycle: same position and same base, but a newer reference point.
 *     That happens when the replica applied a cycle whose acknowledgement the primary never got: the
 *     primary then discards its point and sends the union of changes under the same sequence.
 */
import type { LogHeader } from '../protocol/log-format.js';
import { normalizeGuid } from '../protocol/guid.js';
import { StorageError } from './errors.js';
import type { PendingCycle, StoredState } from './replica-state.js';

export type Acceptance = { kind: 'join'; cycle: PendingCycle } | { kind: 'replace'; cycle: PendingCycle } | { kind: 'next' } | { kind: 'supersede' };

type AcceptanceState = Pick<StoredState, 'vmId' | 'disks' | 'position' | 'referencePoint' | 'lastBaseReferencePoint' | 'pending'>;

export function acceptLog(state: AcceptanceState, header: LogHeader): Acceptance {
  if (normalizeGuid(state.vmId) !== header.vmId) {
    throw new StorageError('ERR_LOG_MISMATCH', `log is for VM ${header.vmId}, this replica is VM ${state.vmId}; check the relationship the primary sends to`);
  }
  const disk = state.disks.find((d) => normalizeGuid(d.diskId) === header.diskId);
  if (!disk) {
    throw new StorageError('ERR_LOG_MISMATCH', `log is for disk ${header.diskId}, which this replica does not have; resynchronise after adding disks`);
  }
  if (disk.virtualSize !== header.virtualSize || disk.logicalSectorSize !== header.logicalSectorSize) {
    throw new StorageError(
      'ERR_LOG_MISMATCH',
      `log geometry ${header.virtualSize} bytes / ${header.logicalSectorSize}-byte sectors differs from replica disk ${header.diskId} (${disk.virtualSize} / ${disk.logicalSectorSize}); resize the replica disk to match, then resume`,
    );
  }
  const where = `${header.generation}/${header.sequence}`;
  const joining = state.pending.find((c) => c.generation === header.generation && c.sequence === header.sequence);
  if (joining) {
    // Complete or not, the unapplied cycle is covered by the resend (the union of changes since the same base).
    if (joining.newReferencePoint !== header.newReferencePoint && joining.baseReferencePoint === header.baseReferencePoint && joining === state.pending.at(-1)) {
      return { kind: 'replace', cycle: joining };
    }
    if (joining.baseReferencePoint !== header.baseReferencePoint || joining.newReferencePoint !== header.newReferencePoint || joining.consistency !== header.consistency) {
      throw new StorageError('ERR_LOG_OUT_OF_SEQUENCE', `log ${where} of disk ${header.diskId} does not match the other logs of its cycle (reference points or consistency differ); resend the whole cycle`);
    }
    return { kind: 'join', cycle: joining };
  }
  const last = state.pending.at(-1) ?? (state.position ? { ...state.position, newReferencePoint: state.referencePoint } : undefined);
  if (header.sequence === 0) {
    if (header.baseReferencePoint !== '') {
      throw new StorageError('ERR_LOG_OUT_OF_SEQUENCE', `log ${where} is a full copy but names a base reference point; it is malformed`);
    }
    if (!last || header.generation > last.generation) return { kind: 'next' };
  } else if (last && header.generation === last.generation && header.sequence === last.sequence + 1) {
    if (header.baseReferencePoint === last.newReferencePoint) return { kind: 'next' };
    throw new StorageError(
      'ERR_LOG_OUT_OF_SEQUENCE',
      `log ${where} is based on reference point "${header.baseReferencePoint}" but the replica is at "${last.newReferencePoint}"; resynchronise the VM`,
    );
  }
  const position = state.position;
  if (position && state.pending.length === 0 && header.generation === position.generation && header.sequence === position.sequence) {
    if (header.newReferencePoint === state.referencePoint) {
      throw new StorageError('ERR_LOG_DUPLICATE', `log ${where} (reference point "${header.newReferencePoint}") was already applied; treat it as acknowledged`);
    }
    if (header.baseReferencePoint === state.lastBaseReferencePoint) return { kind: 'supersede' };
  }
  if (position && (header.generation < position.generation || (header.generation === position.generation && header.sequence <= position.sequence))) {
    // Not ERR_LOG_DUPLICATE: the replica cannot tell that it holds this content, so it must not be taken as acknowledged.
    throw new StorageError(
      'ERR_LOG_OUT_OF_SEQUENCE',
      `log ${where} lies before the replica's position ${position.generation}/${position.sequence}; the primary lost its place: resynchronise the VM`,
    );
  }
  const expected = last ? `${last.generation}/${last.sequence + 1}` : 'a full copy at sequence 0';
  throw new StorageError('ERR_LOG_OUT_OF_SEQUENCE', `log ${where} does not follow the replica's position (expected ${expected}); resynchronise the VM if the primary lost its place`);
}
