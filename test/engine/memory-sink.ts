/**
 * A LogSink test double that decodes every log with the real decoder and applies it to in-memory
 * disks, checking the position rules a replica enforces. Lets the Replicator's tests see exactly what
 * crossed the wire without a VHDX engine; the VHDX-backed path is LocalSink + VhdxReplicaStorage.
 */
import { Readable } from 'node:stream';
import { decodeLog } from '../../src/protocol/log-decoder.js';
import type { LogHeader } from '../../src/protocol/log-format.js';
import type { DeliveryAck, LogSink, OutgoingCycle } from '../../src/engine/log-sink.js';

export class MemorySink implements LogSink {
  readonly disks = new Map<string, Buffer>();
  readonly headers: LogHeader[] = [];
  readonly recordCounts = { data: 0, zero: 0, trim: 0 };
  position: { generation: number; sequence: number; referencePoint: string; base: string } | undefined;
  /** Failure injection: throw before storing anything. */
  failBeforeStore = 0;
  /** Failure injection: apply the cycle, then lose the acknowledgement. */
  loseAck = 0;

  async deliver(cycle: OutgoingCycle): Promise<DeliveryAck> {
    if (this.failBeforeStore > 0) {
      this.failBeforeStore -= 1;
      throw Object.assign(new Error('injected network failure'), { code: 'ECONNRESET' });
    }
    let logBytes = 0;
    for (const outgoing of cycle.logs) {
      const chunks: Buffer[] = [];
      for await (const chunk of outgoing.encode()) chunks.push(chunk);
      const bytes = Buffer.concat(chunks);
      logBytes += bytes.length;
      for await (const entry of decodeLog(Readable.from([bytes]))) {
        if (entry.kind === 'header') {
          const h = entry.header;
          const p = this.position;
          const follows =
            (h.sequence === 0 && h.baseReferencePoint === '' && (!p || h.generation > p.generation)) ||
            // A resend of the last cycle against the same base supersedes it (its acknowledgement was lost).
            (p !== undefined && h.generation === p.generation && h.sequence === p.sequence && h.baseReferencePoint === p.base) ||
            (p !== undefined && h.generation === p.generation && h.sequence === p.sequence + 1 && h.baseReferencePoint === p.referencePoint);
          if (!follows) throw new Error(`log ${h.generation}/${h.sequence} base "${h.baseReferencePoint}" does not follow ${JSON.stringify(p)}`);
          this.headers.push(h);
          if (!this.disks.has(h.diskId)) this.disks.set(h.diskId, Buffer.alloc(h.virtualSize));
        } else if (entry.kind === 'record') {
          const disk = this.disks.get(this.headers.at(-1)!.diskId)!;
          const r = entry.record;
          this.recordCounts[r.type] += 1;
          if (r.type === 'data') r.data.copy(disk, r.offset);
          else disk.fill(0, r.offset, r.offset + r.length);
        }
      }
    }
    const last = this.headers.at(-1)!;
    this.position = { generation: cycle.generation, sequence: cycle.sequence, referencePoint: last.newReferencePoint, base: last.baseReferencePoint };
    if (this.loseAck > 0) {
      this.loseAck -= 1;
      throw Object.assign(new Error('injected lost acknowledgement'), { code: 'ECONNRESET' });
    }
    return { generation: cycle.generation, sequence: cycle.sequence, logBytes };
  }
}
