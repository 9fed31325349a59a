import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { parseContentLength, readBodyWithLimit } from '../origin/sources/read-body.js';
import { SourceTooLargeError } from '../origin/errors.js';
import { startLoopbackServer } from './helpers/loopback-server.js';

/** A readable that counts how many chunks were pulled from it, producing `total` chunks of `size`. */
function countingStream(total: number, size: number): { stream: Readable; pulled: () => number } {
  let pulled = 0;
  const stream = new Readable({
    read() {
      if (pulled >= total) return void this.push(null);
      pulled++;
      this.push(Buffer.alloc(size, 0x61));
    },
  });
  return { stream, pulled: () => pulled };
}

describe('parseContentLength', () => {
  test('reads plain and repeated identical values', () => {
    assert.equal(parseContentLength('12'), 12);
    assert.equal(parseContentLength(['12', '12']), 12);
    assert.equal(parseContentLength('12, 12'), 12);
    assert.equal(parseContentLength('0'), 0);
  });
  test('ignores absent, conflicting and malformed values', () => {
    assert.equal(parseContentLength(undefined), undefined);
    assert.equal(parseContentLength(['1', '2']), undefined);
    assert.equal(parseContentLength('-1'), undefined);
    assert.equal(parseContentLength('1e3'), undefined);
    assert.equal(parseContentLength(''), undefined);
  });
});

describe('readBodyWithLimit', () => {
  test('concatenates every chunk', async () => {
    const bytes = await readBodyWithLimit(Readable.from([Buffer.from('ab'), Buffer.from('cd'), Buffer.from('e')]), undefined, 100);
    assert.equal(bytes.toString(), 'abcde');
  });

  test('accepts a body of exactly the maximum', async () => {
    const { stream } = countingStream(4, 25);
    const bytes = await readBodyWithLimit(stream, '100', 100);
    assert.equal(bytes.length, 100);
  });

  test('refuses a declared Content-Length above the maximum without reading', async () => {
    const { stream, pulled } = countingStream(10, 10);
    await assert.rejects(readBodyWithLimit(stream, '101', 100), SourceTooLargeError);
    assert.equal(pulled(), 0);
    assert.equal(stream.destroyed, true);
  });

  test('stops and destroys a body that grows past the maximum', async () => {
    const { stream, pulled } = countingStream(1_000_000, 10);
    const error = await readBodyWithLimit(stream, undefined, 100).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof SourceTooLargeError);
    assert.equal(error.status, 413);
    assert.equal(stream.destroyed, true);
    // The stream read ahead at most a buffer's worth, nowhere near the million chunks on offer.
    assert.ok(pulled() < 1000, `pulled ${pulled()} chunks`);
  });

  test('a lying Content-Length below the real size still hits the streaming limit', async () => {
    const { stream } = countingStream(50, 10);
    await assert.rejects(readBodyWithLimit(stream, '5', 100), SourceTooLargeError);
  });

  describe('over a real socket', () => {
    const agent = new Agent();
    after(() => agent.close());

    test('an endless chunked body is cut off and its connection closed', async () => {
      let closed!: Promise<unknown>;
      const server = await startLoopbackServer((_req, res) => {
        closed = once(res, 'close');
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        const chunk = Buffer.alloc(1024, 1);
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      });
      try {
        const res = await request(`${server.origin}/big`, { dispatcher: agent });
        assert.equal(res.headers['content-length'], undefined);
        await assert.rejects(readBodyWithLimit(res.body, res.headers['content-length'], 64 * 1024), SourceTooLargeError);
        // The server notices the client went away: the response did not have to be drained.
        await closed;
      } finally {
        await server.close();
      }
    });
  });
});
