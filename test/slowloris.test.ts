/**
 * Under a slowloris attack (200 connections dripping headers a byte at a time) plus 300
 * connections that never send a byte, the origin still answers `/healthz` and makes new images,
 * and once the request timeout has passed it has closed every one of the 500. Loopback only,
 * bounded: the attack is a fixed set of sockets, each dripping a finite text.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decode } from './helpers/images.js';
import { rawGet, startOrigin, type RawResponse, type RunningOrigin } from './helpers/origin.js';
import { SAMPLES } from '../support/paths.js';
import { connectRaw, type RawConnection } from './helpers/raw-connection.js';

const SLOWLORIS = 200;
const IDLE = 300;
/** Long enough for the probes to answer while every attacking socket is still open. */
const REQUEST_TIMEOUT_MS = 8_000;
/** "In time" for a probe during the attack: generous, for a loaded 2-core machine. */
const ANSWER_WITHIN_MS = 5_000;

let origin: RunningOrigin;
before(async () => {
  origin = await startOrigin({ ORIGIN_SOURCE: `fs:${SAMPLES}`, ORIGIN_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
});
after(() => origin.close());

async function connectMany(count: number): Promise<RawConnection[]> {
  const connections: RawConnection[] = [];
  // In batches, well inside the listen backlog.
  for (let i = 0; i < count; i += 50) {
    connections.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => connectRaw(origin.url)))));
  }
  return connections;
}

async function answersWithin(path: string, ms: number): Promise<RawResponse> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${path} did not answer within ${ms} ms during the attack`)), ms);
  });
  try {
    return await Promise.race([rawGet(origin.url, path, { accept: 'image/webp' }), late]);
  } finally {
    clearTimeout(timer);
  }
}

test(`${SLOWLORIS} slowloris and ${IDLE} idle connections: /healthz and new images still answer, and all ${SLOWLORIS + IDLE} are closed`, async () => {
  const idle = await connectMany(IDLE);
  const slow = await connectMany(SLOWLORIS);
  const attack = [...idle, ...slow];
  let closedEarly = 0;
  for (const connection of attack) void connection.ended(REQUEST_TIMEOUT_MS + 30_000).then(() => closedEarly++, () => undefined);
  try {
    // Headers that never end: a new byte every 200 ms, for longer than the test lasts.
    for (const connection of slow) connection.drip(`GET /evening-glow.jpg HTTP/1.1\r\nHost: origin\r\n${'X-Slow: drip\r\n'.repeat(20)}`, 200);

    const health = await answersWithin('/healthz', ANSWER_WITHIN_MS);
    assert.equal(health.status, 200);
    for (const width of [301, 302]) {
      const image = await answersWithin(`/evening-glow.jpg?w=${width}`, ANSWER_WITHIN_MS);
      assert.equal(image.status, 200, image.body.toString());
      assert.equal((await decode(image.body)).width, width);
    }
    assert.equal(closedEarly, 0, 'the attack was still on while the probes were answered');

    // Then every attacking connection is closed by the server, at its request timeout.
    const ends = await Promise.all(attack.map((connection) => connection.ended(REQUEST_TIMEOUT_MS + 30_000)));
    const early = ends.filter((end) => end.afterMs < REQUEST_TIMEOUT_MS - 50);
    assert.equal(early.length, 0, 'none closed before its request timeout');
  } finally {
    for (const connection of attack) connection.destroy();
  }
});
