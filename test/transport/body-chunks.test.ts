/**
 * The replica server reads upload bodies chunk by chunk as they arrived (body-chunks.ts): never joined into
 * new buffers, flow-controlled, and a body cut before its end fails instead of looking complete.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough, Readable } from 'node:stream';
import { bodyChunks } from '../../src/transport/body-chunks.js';

describe('upload body chunks', () => {
  it('hands over the very buffers the stream received, not joined copies of them', async () => {
    const stream = new PassThrough();
    const sent = [Buffer.alloc(100, 1), Buffer.alloc(200, 2), Buffer.alloc(300, 3)];
    // All buffered before anyone reads: node's own iterator would hand them over joined in one new buffer.
    for (const chunk of sent) stream.write(chunk);
    stream.end();
    const got: Buffer[] = [];
    for await (const chunk of bodyChunks(stream)) got.push(chunk);
    assert.equal(got.length, sent.length);
    got.forEach((chunk, i) => assert.ok(chunk.buffer === sent[i]!.buffer && chunk.byteOffset === sent[i]!.byteOffset && chunk.length === sent[i]!.length, `chunk ${i} is the buffer received`));
  });

  it('fails when the stream is destroyed before its end, after handing over what came before', async () => {
    const stream = new PassThrough();
    stream.write(Buffer.alloc(10, 7));
    const got: Buffer[] = [];
    setTimeout(() => stream.destroy(), 20);
    await assert.rejects(
      (async () => {
        for await (const chunk of bodyChunks(stream)) got.push(chunk);
      })(),
      (error: NodeJS.ErrnoException) => error.code === 'ERR_STREAM_PREMATURE_CLOSE',
    );
    assert.equal(got.length, 1);
  });

  it('fails with the stream error', async () => {
    const stream = new PassThrough();
    setTimeout(() => stream.destroy(new Error('reset by the primary')), 10);
    await assert.rejects(
      (async () => {
        for await (const chunk of bodyChunks(stream)) void chunk;
      })(),
      /reset by the primary/,
    );
  });

  it('stops pulling from the stream while the consumer is behind by the high-water mark', async () => {
    let pulled = 0;
    const source = new Readable({
      highWaterMark: 1024,
      read() {
        pulled += 1;
        this.push(Buffer.alloc(1024));
      },
    });
    const body = bodyChunks(source, { highWaterMark: 4096 });
    await body.next();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const settled = pulled;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(source.isPaused(), 'the stream is paused while the consumer waits');
    assert.equal(pulled, settled, 'nothing more is pulled while the consumer does not read');
    assert.ok(pulled < 16, `a bounded amount was read ahead (${pulled} chunks)`);
    await body.return(undefined);
    source.destroy();
  });

  it('leaves the stream open and paused, its rest unread, when the consumer stops early', async () => {
    const stream = new PassThrough();
    stream.write(Buffer.alloc(10, 1));
    for await (const chunk of bodyChunks(stream)) {
      assert.equal(chunk.length, 10);
      break;
    }
    stream.write(Buffer.alloc(20, 2));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(!stream.destroyed, 'the stream still carries the answer');
    assert.ok(stream.isPaused());
    assert.equal((stream.read() as Buffer | null)?.length, 20, 'what came after is still there to read');
  });
});
