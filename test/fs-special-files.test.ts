/**
 * A folder source holding things that are not regular files: a named pipe (FIFO), a Unix socket
 * and a directory. Opening a FIFO for reading blocks until a writer appears, inside one of libuv's
 * threads (4 in this test process, shared with sharp), so before the fix a few requests for one
 * left every later file read and transform waiting for ever. Now each is a 404 without being
 * opened, plain and conditional, while a normal image keeps answering.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decode } from './helpers/images.js';
import { jsonError, rawGet, startOrigin, type RawResponse, type RunningOrigin } from './helpers/origin.js';
import { CORPUS } from '../support/paths.js';

let root: string;
let origin: RunningOrigin;
let socketServer: net.Server;
const fifo = (): string => path.join(root, 'pipe.jpg');

/** Fails (rather than hangs) when the origin does not answer within a generous bound. */
function withinBound(request: Promise<RawResponse>, what: string): Promise<RawResponse> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within 15 s (a thread is blocked)`)), 15_000);
  });
  return Promise.race([request, bound]).finally(() => clearTimeout(timer));
}

/** Opens the FIFO for writing once, which releases any reader stuck in open() (the old behaviour). */
function releaseBlockedReaders(): void {
  try {
    closeSync(openSync(fifo(), constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO: nobody is waiting to read, which is the point.
  }
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'origin-special-'));
  execFileSync('mkfifo', [fifo()]);
  await mkdir(path.join(root, 'folder.jpg'));
  await copyFile(path.join(CORPUS, 'photos/wood-64k-exif.jpg'), path.join(root, 'normal.jpg'));
  socketServer = net.createServer();
  await new Promise<void>((resolve) => socketServer.listen(path.join(root, 'socket.jpg'), resolve));
  origin = await startOrigin({ ORIGIN_SOURCE: `fs:${root}` });
});

after(async () => {
  releaseBlockedReaders();
  await origin.close();
  await new Promise<void>((resolve) => socketServer.close(() => resolve()));
  await rm(root, { recursive: true, force: true });
});

describe('fs source: only regular files are sources', () => {
  test('many plain and conditional requests for a FIFO are 404, and a normal image still answers meanwhile', async () => {
    const requests = Array.from({ length: 12 }, (_, i) =>
      withinBound(rawGet(origin.url, `/pipe.jpg?w=${50 + i}`, i % 2 === 0 ? {} : { 'if-none-match': '"x"' }), `FIFO request ${i}`),
    );
    // Asked after the FIFO requests, so it would queue behind any thread they hold.
    const [normal, ...answers] = await Promise.all([withinBound(rawGet(origin.url, '/normal.jpg?w=80&fm=png'), 'normal image'), ...requests]);
    assert.equal(normal.status, 200);
    assert.equal((await decode(normal.body)).width, 80);
    for (const r of answers) {
      assert.equal(r.status, 404);
      assert.equal(jsonError(r).code, 'NOT_FOUND');
    }
  });

  test('a Unix socket and a directory are 404 too, plain and conditional', async () => {
    for (const name of ['socket.jpg', 'folder.jpg']) {
      for (const headers of [{}, { 'if-none-match': '"x"' }] as Record<string, string>[]) {
        const r = await withinBound(rawGet(origin.url, `/${name}?w=40`, headers), name);
        assert.equal(r.status, 404, `${name} ${JSON.stringify(headers)}`);
        assert.equal(jsonError(r).code, 'NOT_FOUND');
      }
    }
  });
});
