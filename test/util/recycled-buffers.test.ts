import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecycledBuffers } from '../../src/util/recycled-buffers.js';

describe('RecycledBuffers: equal-sized buffers lent and taken back', () => {
  it('lends a buffer given back again instead of a new one', () => {
    const buffers = new RecycledBuffers(4096, 2);
    const first = buffers.take();
    assert.equal(first.length, 4096);
    assert.equal(buffers.give(first), true);
    assert.equal(buffers.freeCount, 1);
    const again = buffers.take();
    assert.equal(again.buffer, first.buffer, 'the same memory');
    assert.equal(buffers.freeCount, 0);
    assert.notEqual(buffers.take().buffer, first.buffer, 'a buffer still lent out is never lent twice');
  });

  it('takes back a whole view of its buffer (what an encoder hands on), not part of one', () => {
    const buffers = new RecycledBuffers(4096, 4);
    const lent = buffers.take();
    assert.equal(buffers.give(lent.subarray(1)), false, 'a view that starts later');
    assert.equal(buffers.give(lent.subarray(0, 100)), false, 'a shorter view');
    assert.equal(buffers.give(lent.subarray(0)), true, 'a view of all of it');
  });

  it('refuses what it never lent and a buffer given back twice', () => {
    const buffers = new RecycledBuffers(4096, 4);
    assert.equal(buffers.give(Buffer.alloc(4096)), false, 'a foreign buffer of the same size');
    assert.equal(buffers.give(new RecycledBuffers(4096, 4).take()), false, 'one of another recycler');
    const lent = buffers.take();
    assert.equal(buffers.give(lent), true);
    assert.equal(buffers.give(lent), false, 'already free');
    assert.equal(buffers.freeCount, 1);
    const a = buffers.take();
    const b = buffers.take();
    assert.notEqual(a.buffer, b.buffer, 'a double give-back would have lent one buffer twice');
  });

  it('keeps at most the free buffers it was told to, leaving the rest to the garbage collector', () => {
    const buffers = new RecycledBuffers(1024, 2);
    const lent = [buffers.take(), buffers.take(), buffers.take()];
    assert.deepEqual(lent.map((b) => buffers.give(b)), [true, true, false]);
    assert.equal(buffers.freeCount, 2);
  });

  it('lends a buffer in parts and takes it back only once every part, exactly as lent, came back', () => {
    const buffers = new RecycledBuffers(4096, 2);
    const lent = buffers.takeInParts([1024, 2048, 1024]);
    const [a, b, c] = [lent.subarray(0, 1024), lent.subarray(1024, 3072), lent.subarray(3072)];
    assert.equal(buffers.give(lent), false, 'the whole of a buffer lent in parts');
    assert.equal(buffers.give(lent.subarray(1024, 2048)), false, 'half of a part');
    assert.equal(buffers.give(b), true);
    assert.equal(buffers.give(b), false, 'a part given back twice');
    assert.equal(buffers.give(a), true);
    assert.equal(buffers.freeCount, 0, 'not free while a part is still out');
    assert.notEqual(buffers.take().buffer, lent.buffer, 'never lent again while a part is out');
    assert.equal(buffers.give(c), true);
    assert.equal(buffers.freeCount, 1);
    const again = buffers.take();
    assert.equal(again.buffer, lent.buffer, 'lent again once every part came back');
    assert.equal(buffers.give(again), true, 'and then taken back whole');
    assert.throws(() => buffers.takeInParts([1024, 1024]), /the parts must be positive and add up to 4096 bytes/);
  });

  it('says what is wrong with its sizes', () => {
    assert.throws(() => new RecycledBuffers(0, 1), /buffer size must be a positive whole number, got 0/);
    assert.throws(() => new RecycledBuffers(1024, -1), /free buffers kept must be a whole number, got -1/);
  });
});
