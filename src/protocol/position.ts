/**
 * Where a relationship stands: the generation (new whenever change-tracking continuity is lost), the
 * sequence number of the log within it, and a byte offset inside that log (for resumed uploads).
 * A value type: immutable, comparable, printable.
 */
import { ProtocolArgumentError } from './errors.js';

function checkCounter(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ProtocolArgumentError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

export interface PositionJson {
  generation: number;
  sequence: number;
  offset: number;
}

export class ReplicationPosition {
  static readonly ZERO = new ReplicationPosition(0, 0, 0);

  readonly generation: number;
  readonly sequence: number;
  readonly offset: number;

  constructor(generation: number, sequence: number, offset = 0) {
    this.generation = checkCounter('generation', generation);
    this.sequence = checkCounter('sequence', sequence);
    this.offset = checkCounter('offset', offset);
  }

  static fromJSON(value: PositionJson): ReplicationPosition {
    return new ReplicationPosition(value.generation, value.sequence, value.offset);
  }

  /** Parses the `toString()` form `generation/sequence@offset` (the `@offset` part is optional). */
  static parse(text: string): ReplicationPosition {
    const match = /^(\d+)\/(\d+)(?:@(\d+))?$/.exec(text.trim());
    if (!match) throw new ProtocolArgumentError(`"${text}" is not a position (expected generation/sequence[@offset])`);
    return new ReplicationPosition(Number(match[1]), Number(match[2]), match[3] === undefined ? 0 : Number(match[3]));
  }

  isZero(): boolean {
    return this.generation === 0 && this.sequence === 0 && this.offset === 0;
  }

  withOffset(offset: number): ReplicationPosition {
    return new ReplicationPosition(this.generation, this.sequence, offset);
  }

  /** The position of the log that follows this one in the same generation. */
  nextLog(): ReplicationPosition {
    return new ReplicationPosition(this.generation, this.sequence + 1, 0);
  }

  /**
   * Whether a log at (generation, sequence) may follow this position: the next sequence in the same
   * generation, or the first log of a newer generation (after a resync).
   */
  acceptsLog(generation: number, sequence: number): boolean {
    if (generation === this.generation) return sequence === this.sequence + 1;
    return generation > this.generation && sequence === 1;
  }

  compare(other: ReplicationPosition): number {
    return (
      Math.sign(this.generation - other.generation) ||
      Math.sign(this.sequence - other.sequence) ||
      Math.sign(this.offset - other.offset)
    );
  }

  equals(other: ReplicationPosition): boolean {
    return this.compare(other) === 0;
  }

  toString(): string {
    return `${this.generation}/${this.sequence}@${this.offset}`;
  }

  toJSON(): PositionJson {
    return { generation: this.generation, sequence: this.sequence, offset: this.offset };
  }
}
