/**
 * Which manifest algorithm a comparison uses, and how it is asked for on the wire: XXH3-128 from a replica
 * server whose hello lists it (protocol 5), else BLAKE3 from one that lists that (protocol 3), SHA-256 from an
 * older one, with requests an older server knows byte for byte.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agreedAlgorithm, digestsPath, manifestPath, parseContentPath } from '../../src/transport/index.js';
import { HASH_ALGORITHMS, PREFERRED_SYNC_ALGORITHMS } from '../../src/tracking/hash/hash-algorithm.js';

const VM = '11111111-2222-4333-8444-555555555555';
const DISK = '66666666-7777-4888-9999-aaaaaaaaaaaa';

describe('manifest algorithm agreement', () => {
  it('BLAKE3 when the replica lists it; SHA-256 from a server before protocol 3 (no list) or one without it', () => {
    assert.equal(agreedAlgorithm({ HashAlgorithms: ['sha256', 'blake2b', 'blake3'] }, ['blake3'], HASH_ALGORITHMS), 'blake3');
    assert.equal(agreedAlgorithm({}, ['blake3'], HASH_ALGORITHMS), 'sha256', 'an older server lists nothing');
    assert.equal(agreedAlgorithm({ HashAlgorithms: ['sha256'] }, ['blake3'], HASH_ALGORITHMS), 'sha256');
    assert.equal(agreedAlgorithm({ HashAlgorithms: ['sha256', 'blake3'] }, ['blake3'], ['sha256']), 'sha256', 'not computable here');
    assert.equal(agreedAlgorithm({ HashAlgorithms: ['sha256', 'blake3'] }, ['sha256'], HASH_ALGORITHMS), 'sha256');
  });

  it('XXH3-128 first when both list it; BLAKE3 from a protocol 3–4 server; the next preferred one this side computes', () => {
    assert.deepEqual(PREFERRED_SYNC_ALGORITHMS, ['xxh128', 'blake3']);
    assert.equal(agreedAlgorithm({ HashAlgorithms: ['sha256', 'blake2b', 'blake3', 'xxh128'] }, PREFERRED_SYNC_ALGORITHMS, HASH_ALGORITHMS), 'xxh128');
    assert.equal(agreedAlgorithm({ HashAlgorithms: ['sha256', 'blake2b', 'blake3'] }, PREFERRED_SYNC_ALGORITHMS, HASH_ALGORITHMS), 'blake3', 'a protocol 4 server');
    assert.equal(agreedAlgorithm({ HashAlgorithms: ['sha256', 'xxh128'] }, PREFERRED_SYNC_ALGORITHMS, HASH_ALGORITHMS), 'xxh128', 'a server without a SIMD BLAKE3');
    assert.equal(agreedAlgorithm({ HashAlgorithms: ['sha256', 'blake3', 'xxh128'] }, PREFERRED_SYNC_ALGORITHMS, ['sha256', 'blake3']), 'blake3', 'not computable here');
    assert.equal(agreedAlgorithm({}, PREFERRED_SYNC_ALGORITHMS, HASH_ALGORITHMS), 'sha256', 'a server before protocol 3');
    assert.equal(agreedAlgorithm({ HashAlgorithms: ['sha256', 'blake3', 'xxh128'] }, ['blake3'], HASH_ALGORITHMS), 'blake3', 'a primary before protocol 5 asks for BLAKE3 only');
    assert.deepEqual(parseContentPath(manifestPath(VM, DISK, 65536, 'xxh128')), { kind: 'manifest', vmId: VM, diskId: DISK, blockSize: 65536, algorithm: 'xxh128' });
  });

  it('asks for SHA-256 exactly as before (no parameter), for anything else by name; the server reads both', () => {
    assert.equal(manifestPath(VM, DISK, 65536), `/v1/vms/${VM}/disks/${DISK}/manifest?block-size=65536`);
    assert.equal(manifestPath(VM, DISK, 65536, 'sha256'), `/v1/vms/${VM}/disks/${DISK}/manifest?block-size=65536`);
    assert.equal(digestsPath(VM, DISK, 4096, 'sha256'), `/v1/vms/${VM}/disks/${DISK}/digests?block-size=4096`);
    assert.equal(manifestPath(VM, DISK, 65536, 'blake3'), `/v1/vms/${VM}/disks/${DISK}/manifest?block-size=65536&algorithm=blake3`);
    assert.deepEqual(parseContentPath(manifestPath(VM, DISK, 65536)), { kind: 'manifest', vmId: VM, diskId: DISK, blockSize: 65536, algorithm: 'sha256' });
    assert.deepEqual(parseContentPath(`/v1/vms/${VM}/disks/${DISK}/manifest`), { kind: 'manifest', vmId: VM, diskId: DISK, blockSize: undefined, algorithm: 'sha256' });
    assert.deepEqual(parseContentPath(manifestPath(VM, DISK, 65536, 'blake3')), { kind: 'manifest', vmId: VM, diskId: DISK, blockSize: 65536, algorithm: 'blake3' });
    assert.deepEqual(parseContentPath(digestsPath(VM, DISK, 4096, 'blake3')), { kind: 'digests', vmId: VM, diskId: DISK, blockSize: 4096, algorithm: 'blake3' });
    // Names the server does not compute get through the parser and are refused by the server with a 400 (hash-sync.test.ts).
    assert.equal(parseContentPath(`/v1/vms/${VM}/disks/${DISK}/manifest?block-size=65536&algorithm=md5`)?.kind, 'manifest');
    assert.equal(parseContentPath(`/v1/vms/${VM}/disks/${DISK}/manifest?block-size=65536&algorithm=../x`), undefined);
  });
});
