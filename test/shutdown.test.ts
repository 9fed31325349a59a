/**
 * The real process (`node dist/origin/main.js`, as `npm start` and the Docker image run it):
 * metrics on their own port, and SIGTERM while requests are in flight: every one completes with
 * 200, new ones are refused, and the process exits 0. Past the grace period it always ends: with
 * a request stuck on a storage server that never answers it logs what it abandons and exits 1,
 * and with a libuv thread still busy past the grace (a long transform) it kills itself.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { HARD_EXIT_DELAY_MS } from '../origin/shutdown.js';
import { startChild, until as untilChild, type RunningChild } from './helpers/child-processes.js';
import { decode } from './helpers/images.js';
import { startLoopbackServer } from './helpers/loopback-server.js';
import { metricValue, rawGet } from './helpers/origin.js';
import { readCorpus } from '../support/corpus.js';
import { PROJECT_ROOT } from '../support/paths.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('gave up waiting');
}

test('SIGTERM lets in-flight requests finish with 200, refuses new ones, and exits 0', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'origin-shutdown-'));
  await writeFile(path.join(root, 'big.jpg'), await readCorpus('photos/the-mouse-3840x2400.jpg'));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['dist/origin/main.js'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ORIGIN_METRICS_PORT: String(metricsPort), ORIGIN_SOURCE: `fs:${root}`, LOG_LEVEL: 'warn',
      // The test is about draining, not shedding: a busy machine must not turn the queued two into 503s,
      // nor stretch the four transforms (about 17 s on an idle 2-core machine) past the grace period.
      ORIGIN_TRANSFORM_WAIT_MS: '60000', ORIGIN_SHUTDOWN_GRACE_MS: '120000' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const base = `http://127.0.0.1:${port}`;
  const metricsBase = `http://127.0.0.1:${metricsPort}`;
  try {
    await until(async () => ((await rawGet(base, '/readyz')).status === 200 ? true : undefined));

    const metrics = await rawGet(metricsBase, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body.toString(), /^# TYPE image_origin_requests_total counter/m);
    assert.equal((await rawGet(base, '/metrics')).status, 404, 'not exposed on the CDN-facing port');

    const inFlight = Array.from({ length: 4 }, (_, i) => rawGet(base, `/big.jpg?w=${2400 + i}&fm=avif`));
    // In flight means received: all four admitted (running or queued), at least one transforming.
    await until(async () => {
      const text = (await rawGet(metricsBase, '/metrics')).body.toString();
      const running = metricValue(text, 'image_origin_inflight_transforms');
      return running >= 1 && running + metricValue(text, 'image_origin_queue_depth') === 4 ? true : undefined;
    });
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const late = await rawGet(base, '/readyz').then(
      (r) => r.status,
      (e: NodeJS.ErrnoException) => e.code,
    );
    assert.notEqual(late, 200, 'not ready any more');

    const answers = await Promise.all(inFlight);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200]);
    for (const [i, a] of answers.entries()) assert.equal((await decode(a.body)).width, 2400 + i);
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
  }
});

const GRACE_MS = 1_000;
/** Room for a loaded machine beyond the grace and the hard-exit delay; a shutdown that hangs takes for ever. */
const MARGIN_MS = 5_000;

/** The origin process with a short grace, its metrics on a free port; `env` adds the source. */
async function startStuckOrigin(env: Record<string, string>): Promise<{ child: RunningChild; base: string; metricsBase: string }> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ORIGIN_|S3_|AWS_)/.test(k)));
  const child = startChild('origin', process.execPath, ['dist/origin/main.js'], {
    cwd: PROJECT_ROOT,
    env: { ...inherited, HOST: '127.0.0.1', PORT: String(port), ORIGIN_METRICS_PORT: String(metricsPort), LOG_LEVEL: 'warn', ORIGIN_SHUTDOWN_GRACE_MS: String(GRACE_MS), ...env },
  });
  const base = `http://127.0.0.1:${port}`;
  await untilChild('the origin to be ready', async () => ((await rawGet(base, '/readyz')).status === 200 ? true : undefined), { child });
  return { child, base, metricsBase: `http://127.0.0.1:${metricsPort}` };
}

/** The JSON log lines of the process with this `msg`. */
function logLines(child: RunningChild, msg: string): Record<string, unknown>[] {
  return child
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line['msg'] === msg);
}

/** SIGTERM, then the exit and how long it took. */
async function terminate(child: RunningChild): Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }> {
  const sentAt = performance.now();
  child.process.kill('SIGTERM');
  const cap = setTimeout(() => child.process.kill('SIGKILL'), GRACE_MS + HARD_EXIT_DELAY_MS + 60_000);
  try {
    const exit = await child.exited;
    return { ...exit, afterMs: performance.now() - sentAt };
  } finally {
    clearTimeout(cap);
  }
}

test('past the grace period a request stuck on the storage is abandoned: logged, dropped, exit 1', async () => {
  const storage = await startLoopbackServer(() => undefined); // takes requests, never answers
  const { child, base } = await startStuckOrigin({
    ORIGIN_SOURCE: `${storage.origin}/`,
    ORIGIN_HTTP_ALLOW_PRIVATE: 'true',
    // The storage timeouts are not what this is about: let the grace period end the request.
    ORIGIN_SOURCE_HEADERS_TIMEOUT_MS: '120000',
  });
  try {
    const stuck = rawGet(base, '/photos/a.jpg?w=100').then(
      (r) => `answered ${r.status}`,
      (e: NodeJS.ErrnoException) => `dropped (${e.code ?? e.message})`,
    );
    await untilChild('the fetch to reach the storage', async () => (storage.requests.length > 0 ? true : undefined), { child });

    const exit = await terminate(child);
    assert.equal(exit.code, 1, `exit ${exit.code} / ${exit.signal}:\n${child.output()}`);
    assert.ok(exit.afterMs >= GRACE_MS, `it waited the grace period (${Math.round(exit.afterMs)} ms)`);
    assert.ok(exit.afterMs < GRACE_MS + HARD_EXIT_DELAY_MS + MARGIN_MS, `exited ${Math.round(exit.afterMs)} ms after SIGTERM`);
    const [line] = logLines(child, 'grace period over: exiting with work abandoned');
    assert.deepEqual(line?.['abandoned'], { requests: 1, transformsRunning: 0, transformsQueued: 1 }, child.output());
    assert.match(await stuck, /^dropped/, 'the stuck client learns its connection is gone');
  } finally {
    await child.stop('SIGKILL');
    await storage.close();
  }
});

test('past the grace period a transform still holding a libuv thread cannot hold the process: it kills itself', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'origin-stuck-'));
  // 49 MP blurred with sigma 100, then AVIF: many seconds of libvips work on a pool thread, which
  // process.exit() would wait for (it joins the pool). Clients can no longer block a thread for
  // good (special files are refused before they are opened), so long work stands in for that.
  await writeFile(path.join(root, 'huge.jpg'), await sharp({ create: { width: 7000, height: 7000, channels: 3, background: '#808080' } }).jpeg().toBuffer());
  const { child, base, metricsBase } = await startStuckOrigin({ ORIGIN_SOURCE: `fs:${root}`, ORIGIN_TRANSFORM_TIMEOUT_SECONDS: '600' });
  try {
    void rawGet(base, '/huge.jpg?blur=100&fm=avif&q=100').catch(() => undefined);
    await untilChild(
      'the transform to run',
      async () => (metricValue((await rawGet(metricsBase, '/metrics')).body.toString(), 'image_origin_inflight_transforms') === 1 ? true : undefined),
      { child },
    );

    const exit = await terminate(child);
    assert.equal(exit.signal, 'SIGKILL', `exit ${exit.code} / ${exit.signal}:\n${child.output()}`);
    assert.ok(exit.afterMs >= GRACE_MS + HARD_EXIT_DELAY_MS, `it gave the dropped work ${HARD_EXIT_DELAY_MS} ms (${Math.round(exit.afterMs)} ms)`);
    assert.ok(exit.afterMs < GRACE_MS + HARD_EXIT_DELAY_MS + MARGIN_MS, `killed itself ${Math.round(exit.afterMs)} ms after SIGTERM`);
    assert.deepEqual(logLines(child, 'grace period over: exiting with work abandoned')[0]?.['abandoned'], {
      requests: 1,
      transformsRunning: 1,
      transformsQueued: 0,
    });
    const [killed] = logLines(child, 'still running after the grace period: killing the process');
    assert.ok(Array.isArray(killed?.['stillRunning']), child.output());
  } finally {
    await child.stop('SIGKILL');
    await rm(root, { recursive: true, force: true });
  }
});
