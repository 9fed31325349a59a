/**
 * Every connection is bounded: real slow sockets (node:net on loopback) against the origin with
 * small limits, each closed by the server within its configured bound (the timeout plus a
 * generous margin for a busy machine, and never before the timeout, so it is that timer and no
 * other that closed it).
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { until } from './helpers/child-processes.js';
import { rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { connectRaw, jsonBodyOf, statusOf } from './helpers/raw-connection.js';

const TIMEOUT_MS = 1_000;
/** Room for a loaded 2-core machine; only a missing limit takes this long. */
const MARGIN_MS = 5_000;
/** The client's clock starts before the server's, and checks run late, never early; Node rounds timers to the millisecond. */
const EARLY_MS = 50;

function assertWithin(afterMs: number, fromMs: number, toMs: number, what: string): void {
  assert.ok(afterMs >= fromMs - EARLY_MS, `${what}: closed after ${Math.round(afterMs)} ms, before the ${fromMs} ms limit`);
  assert.ok(afterMs <= toMs + MARGIN_MS, `${what}: still open after ${Math.round(afterMs)} ms (limit ${toMs} ms)`);
}

function assertRequestTimeout(received: Buffer): void {
  assert.equal(statusOf(received), 408, received.toString('latin1').slice(0, 200));
  assert.deepEqual(jsonBodyOf(received), { error: { code: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' } });
  assert.match(received.toString('latin1'), /\r\ncache-control: no-store\r\n/);
}

let root: string;
let origin: RunningOrigin;
/** When each server-side socket closed, by the client's port. */
const serverClosedAt = new Map<number, number>();

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'origin-connections-'));
  // Noise does not compress: its PNG is ~13 MB, far more than loopback's socket buffers hold.
  const noise = sharp({ create: { width: 3000, height: 1500, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 80 } } });
  await writeFile(path.join(root, 'noise.png'), await noise.png({ compressionLevel: 1 }).toBuffer());
  await writeFile(path.join(root, 'small.png'), await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).png().toBuffer());
  origin = await startOrigin({
    ORIGIN_SOURCE: `fs:${root}`,
    ORIGIN_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
    ORIGIN_SEND_TIMEOUT_MS: String(TIMEOUT_MS),
    ORIGIN_KEEPALIVE_TIMEOUT_MS: String(TIMEOUT_MS),
    ORIGIN_MAX_REQUESTS_PER_SOCKET: '2',
    ORIGIN_CACHE_MAX_ENTRY_SHARE: '1',
  });
  origin.origin.app.server.on('connection', (socket: Socket) => {
    const port = socket.remotePort;
    socket.once('close', () => port !== undefined && serverClosedAt.set(port, performance.now()));
  });
});
after(() => origin.close());

describe('the request timeout (ORIGIN_REQUEST_TIMEOUT_MS)', () => {
  test('a client that never sends a byte is answered 408 and closed', async () => {
    const client = await connectRaw(origin.url);
    const { afterMs, received } = await client.ended();
    assertWithin(afterMs, TIMEOUT_MS, TIMEOUT_MS, 'silent client');
    assertRequestTimeout(received);
  });

  test('headers dripped a byte every 100 ms are cut at the timeout, although bytes keep coming', async () => {
    const client = await connectRaw(origin.url);
    client.drip(`GET /healthz HTTP/1.1\r\nHost: origin\r\nX-Slow: ${'a'.repeat(500)}`, 100);
    const { afterMs, received } = await client.ended();
    assertWithin(afterMs, TIMEOUT_MS, TIMEOUT_MS, 'dripped headers');
    assertRequestTimeout(received);
  });

  test('a body dripped a byte every 100 ms is cut at the timeout', async () => {
    const client = await connectRaw(origin.url);
    client.socket.write('POST /small.png HTTP/1.1\r\nHost: origin\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n');
    client.drip('b'.repeat(1000), 100);
    const { afterMs, received } = await client.ended();
    assertWithin(afterMs, TIMEOUT_MS, TIMEOUT_MS, 'dripped body');
    // fastify waits for the body it would parse, so nothing was answered before the timeout.
    assertRequestTimeout(received);
  });
});

describe('the send timeout (ORIGIN_SEND_TIMEOUT_MS)', () => {
  test('a client that stops reading a large image is dropped, its answer cut short', async () => {
    const url = '/noise.png?fm=png';
    // A reading client first: it keeps the variant, so the next answer starts writing at once.
    const whole = await rawGet(origin.url, url);
    assert.equal(whole.status, 200);
    assert.ok(whole.body.length > 8_000_000, `${whole.body.length} bytes: more than the socket buffers hold`);

    const client = await connectRaw(origin.url);
    client.socket.pause();
    const port = client.socket.localPort!;
    const sentAt = performance.now();
    client.socket.write(`GET ${url} HTTP/1.1\r\nHost: origin\r\n\r\n`);
    const closedAt = await until('the server to drop the connection', async () => serverClosedAt.get(port), { capMs: 30_000 });
    // Node looks for progress once per period: a write that stalls at once is cut after the second.
    assertWithin(closedAt - sentAt, TIMEOUT_MS, 2 * TIMEOUT_MS, 'unread answer');

    client.socket.resume();
    const { received } = await client.ended();
    assert.equal(statusOf(received), 200);
    assert.ok(received.length < whole.body.length, `got ${received.length} of ${whole.body.length} bytes: the rest was never sent`);
  });

  test('a client that reads slowly but steadily gets the whole answer', async () => {
    const whole = await rawGet(origin.url, '/noise.png?fm=png');
    const client = await connectRaw(origin.url);
    client.socket.write('GET /noise.png?fm=png HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n');
    // Read in bursts with pauses shorter than the send timeout: the write queue shrinks every period.
    client.socket.pause();
    const reading = setInterval(() => {
      client.socket.resume();
      setTimeout(() => client.socket.pause(), 20);
    }, TIMEOUT_MS / 2);
    try {
      const { received } = await client.ended();
      assert.equal(statusOf(received), 200);
      assert.ok(received.length > whole.body.length, `the whole ${whole.body.length}-byte body arrived (${received.length} with headers)`);
    } finally {
      clearInterval(reading);
    }
  });
});

describe('keep-alive and requests per connection', () => {
  test('an idle keep-alive connection is closed after ORIGIN_KEEPALIVE_TIMEOUT_MS (Node adds a second)', async () => {
    const client = await connectRaw(origin.url);
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: origin\r\n\r\n');
    const answeredAt = await client.firstData;
    const { afterMs, received } = await client.ended();
    assert.equal(statusOf(received), 200);
    assert.match(received.toString('latin1'), /\r\nkeep-alive: timeout=1, max=2\r\n/i);
    assertWithin(afterMs - answeredAt, TIMEOUT_MS, TIMEOUT_MS + 1_000, 'idle keep-alive connection');
  });

  test('ORIGIN_MAX_REQUESTS_PER_SOCKET: the last answer a connection may carry says Connection: close', async () => {
    const client = await connectRaw(origin.url);
    const request = 'GET /healthz HTTP/1.1\r\nHost: origin\r\n\r\n';
    client.socket.write(request + request);
    const { afterMs, received } = await client.ended();
    const answers = received.toString('latin1').split(/(?=HTTP\/1\.1 )/);
    assert.deepEqual(answers.map((a) => /\r\nconnection: (\S+)\r\n/i.exec(a)?.[1]), ['keep-alive', 'close']);
    // Node leaves the closing to the client, and the keep-alive timer to one that does not.
    assertWithin(afterMs, 0, TIMEOUT_MS + 1_000, 'connection past its last request');
  });
});

describe('the idle timeout (ORIGIN_IDLE_TIMEOUT_MS)', () => {
  test('closes a silent socket when it is the shortest limit, without an answer', async () => {
    const idle = await startOrigin({
      ORIGIN_SOURCE: `fs:${root}`,
      ORIGIN_REQUEST_DEADLINE_MS: '500',
      ORIGIN_IDLE_TIMEOUT_MS: String(TIMEOUT_MS),
      ORIGIN_REQUEST_TIMEOUT_MS: '60000',
    });
    try {
      const client = await connectRaw(idle.url);
      const { afterMs, received } = await client.ended();
      assertWithin(afterMs, TIMEOUT_MS, TIMEOUT_MS, 'idle socket');
      assert.equal(received.length, 0, 'dropped, not answered: the request timeout (which answers 408) was far off');
    } finally {
      await idle.close();
    }
  });
});
