/**
 * The replica server's default largest log must take the initial replication of any disk: a full copy
 * is one log per disk, so a default below the VHDX maximum made large disks impossible to replicate.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_LOG_BYTES } from '../../src/cli/commands/server/command.js';
import { MAX_HEADER_BYTES, MAX_RECORD_BYTES, RECORD_HEADER_BYTES, TRAILER_BYTES } from '../../src/protocol/log-format.js';

const VHDX_MAX_BYTES = 64 * 1024 ** 4;

describe('server run --max-log-bytes default', () => {
  it('takes a full copy of the largest VHDX in records of the largest size', () => {
    const records = Math.ceil(VHDX_MAX_BYTES / MAX_RECORD_BYTES);
    const fullCopy = MAX_HEADER_BYTES + VHDX_MAX_BYTES + records * RECORD_HEADER_BYTES + RECORD_HEADER_BYTES + TRAILER_BYTES;
    assert.ok(DEFAULT_MAX_LOG_BYTES >= fullCopy, `${DEFAULT_MAX_LOG_BYTES} < ${fullCopy}`);
    assert.ok(Number.isSafeInteger(DEFAULT_MAX_LOG_BYTES));
  });
});
