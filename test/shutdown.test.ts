/**
 * The real process (`node dist/origin/main.js`, as `npm start` and the Docker image run it):
 * metrics on their own port, and SIGTERM while requests are in flight: every one completes with
 * 200, new ones are refused, and the process exits 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { decode } from './helpers/images.js';
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
      // The test is about draining, not shedding: a busy machine must not turn the queued two into 503s.
      ORIGIN_TRANSFORM_WAIT_MS: '60000' },
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
