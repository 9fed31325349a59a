/**
 * Keeps `npm run bench` from rotting: the whole benchmark (storage child, origin processes, load
 * generators, bare reference, report) runs on the tiny workload, a few requests per scenario.
 * Speed is not asserted, only structure: every scenario present with finite figures, the results
 * JSON written where asked, the soak's origin behind the failing proxy, every child process
 * exited, the temporary folder gone.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { roundOrder, runBenchmark } from '../bench/benchmark.js';
import { checkTargets, withRatios } from '../bench/report.js';
import type { RunFigures } from '../bench/scenarios/types.js';
import { FAULT_KINDS, fateOf, type FaultSettings } from '../bench/fault-proxy.js';
import { SOAK_STORAGE_FAULTS } from '../bench/scenarios/soak.js';
import { benchOptions, ONCE, SCENARIOS, type ScenarioName } from '../bench/options.js';
import { LEAN_ENCODERS } from '../bench/scenarios/peer.js';
import { loadConfig } from '../origin/config.js';

/** Figures each scenario's entry must carry as finite numbers. */
const REQUIRED: Readonly<Record<ScenarioName, readonly string[]>> = {
  limit: ['rps', 'p50_ms', 'p95_ms', 'p99_ms'],
  cold: ['rps', 'p50_ms', 'p95_ms', 'p99_ms', 'ratio_to_limit', 'peak_rss_mb', 'loadgen_cores'],
  hot: ['rps', 'p50_ms', 'p99_ms', 'ratio_to_bare', 'peak_rss_mb', 'loadgen_cores'],
  social: ['rps', 'p50_ms', 'p99_ms', 'p99_burst_ms', 'shed_share', 'degraded_share', 'peak_rss_mb', 'loadgen_cores'],
  overload: ['rps', 'p50_ms', 'p99_ms', 'goodput_ratio_to_cold', 'shed_share', 'resets', 'timeouts', 'peak_rss_mb', 'bare_server_p99_ms', 'healthz_p99_ms'],
  coldstart: ['first_image_ms', 'first_image_fs_ms', 'ready_ms', 'peer_first_image_fs_ms', 'floor_first_image_fs_ms', 'node_exit_ms', 'node_sharp_exit_ms'],
  peer: ['fanout_min_ratio', 'feed_min_ratio', 'lean_fanout_min_ratio', 'lean_feed_min_ratio', 'peak_rss_mb', 'lean_peak_rss_mb', 'ipx_peak_rss_mb'],
  restart: ['transforms_without_store', 'transforms_with_store', 'p50_with_store_ms'],
  upload: ['all_stored_s', 'live_p99_alone_ms', 'p99_ms'],
  soak: ['rps', 'p50_ms', 'p99_ms', 'rss_growth_pct', 'bad_input_5xx', 'storage_requests', 'peak_rss_mb', 'loadgen_cores'],
  bytes: ['webp_ratio', 'avif_ratio', 'jpeg_ratio', 'spread_points', 'worst_margin_points'],
};

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

test('the benchmark runs every scenario on a tiny workload, writes its results and cleans up', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-test-'));
  try {
    const out = path.join(dir, 'results.json');
    // autocannon: the load tool every machine has (wrk is optional).
    const run = await runBenchmark(benchOptions('tiny', { out, tool: 'autocannon' }));

    assert.equal(run.file, out);
    const written = JSON.parse(await readFile(out, 'utf8')) as {
      scenarios: ({ name: ScenarioName; runs: unknown[] } & Record<string, unknown>)[];
      targets: unknown[];
      environment: Record<string, unknown>;
    };
    assert.deepEqual(
      written.scenarios.map((s) => s.name),
      SCENARIOS,
    );
    for (const entry of written.scenarios) {
      assert.equal(entry.rounds, 1, `${entry.name}: one round`);
      // limit brackets cold, and cold brackets overload: once before it and once after.
      assert.equal(entry.runs.length, entry.name === 'limit' || entry.name === 'cold' ? 2 : 1, `${entry.name}: runs in the round`);
      for (const figure of REQUIRED[entry.name]) {
        const value = entry[figure];
        assert.ok(typeof value === 'number' && Number.isFinite(value), `${entry.name}.${figure} is ${String(value)}`);
      }
    }
    const soak = written.scenarios.find((s) => s.name === 'soak');
    assert.ok((soak?.['storage_requests'] as number) > 0, 'the soak origin read its originals through the failing proxy');
    assert.deepEqual(
      (written.targets as { target: string }[]).map((t) => t.target.split(' ')[0]),
      ['vs', 'vs', 'cold', 'hot', 'cold', 'cold', 'full', 'goodput', 'served', 'shed', 'peak', 'restart', 'upload', 'soak', 'soak', 'bytes', 'bytes', 'bytes', 'bytes', 'bytes'],
      'one row per target, named for what it measures',
    );
    const restart = written.scenarios.find((s) => s.name === 'restart');
    assert.equal(restart?.['transforms_with_store'], 0, 'the second process made nothing: the result store had it all');
    for (const key of ['node', 'sharp', 'libvips', 'cpu_model']) assert.equal(typeof written.environment[key], 'string', key);
    assert.ok((written.environment['cores'] as number) > 0);
    assert.match(run.table, /\| coldstart /);

    const roles = run.processes.map((p) => p.role);
    assert.ok(roles.some((r) => r.startsWith('storage')), 'a storage child ran');
    assert.ok(roles.filter((r) => r.startsWith('origin')).length >= 6, 'an origin per HTTP scenario (5) and per cold start');
    assert.ok(roles.includes('bare fastify'), 'the bare reference ran');
    assert.ok(roles.some((r) => r.startsWith('ipx')), 'the peer ran as its own process');
    assert.ok(roles.some((r) => r.startsWith('origin (peer lean')), 'the project with lean encoders ran beside it');
    for (const p of run.processes) {
      assert.ok(p.exited, `${p.role} (pid ${p.pid}) exited`);
      assert.equal(isAlive(p.pid), false, `${p.role} (pid ${p.pid}) is gone`);
      if (p.role.startsWith('origin')) assert.equal(p.exitCode, 0, `${p.role} exited cleanly on SIGTERM`);
    }
    assert.equal(existsSync(run.tmpDir), false, 'temporary folder removed');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("peer's lean origin is configured with libjpeg-turbo and ipx's WebP effort, and nothing else differs", () => {
  const lean = loadConfig(LEAN_ENCODERS, '/srv');
  const shipped = loadConfig({}, '/srv');
  assert.deepEqual(lean.limits.encoders, { ...shipped.limits.encoders, jpeg: 'fast', webpEffort: 4 });
  assert.deepEqual({ ...lean, limits: { ...lean.limits, encoders: shipped.limits.encoders } }, shipped);
});

test("the soak's failing storage fails the same requests every run, about 5 % of them, the kinds in equal shares", () => {
  // 400 keys, 100 requests each: the n-th request of a key has the same fate whatever the order.
  const fates = (settings: FaultSettings) =>
    Array.from({ length: 40_000 }, (_, i) => fateOf(settings, 'GET', `/bench/social/${i % 400}.jpg`, Math.floor(i / 400)));
  const once = fates(SOAK_STORAGE_FAULTS);
  assert.deepEqual(fates(SOAK_STORAGE_FAULTS), once);
  assert.notDeepEqual(fates({ ...SOAK_STORAGE_FAULTS, seed: SOAK_STORAGE_FAULTS.seed + 1 }), once);
  const faults = once.filter((f) => f !== undefined);
  assert.equal(SOAK_STORAGE_FAULTS.rate, 0.05);
  assert.ok(Math.abs(faults.length / once.length - 0.05) < 0.005, `fault share ${faults.length / once.length}`);
  for (const kind of FAULT_KINDS) {
    const part = faults.filter((f) => f === kind).length / faults.length;
    assert.ok(Math.abs(part - 0.25) < 0.05, `${kind}: ${part}`);
  }
});

test('raw sharp brackets cold and cold brackets overload in every round; each ratio is to the mean of its brackets', () => {
  assert.deepEqual(roundOrder(['limit', 'cold', 'hot'], 1), ['limit', 'cold', 'limit', 'hot']);
  assert.deepEqual(roundOrder(['limit', 'cold', 'hot'], 2), ['hot', 'limit', 'cold', 'limit']);
  assert.deepEqual(roundOrder(['limit', 'hot'], 2), ['hot', 'limit']);
  // Without limit nothing brackets cold; cold is still added, on both sides, for overload.
  assert.deepEqual(roundOrder(['overload'], 1), ['cold', 'overload', 'cold']);
  // overload is offered 4x the cold run just before it: the unit keeps its order in even rounds.
  for (const roundNo of [1, 2]) {
    const order = roundOrder(SCENARIOS, roundNo);
    const start = order.indexOf('limit');
    assert.deepEqual(order.slice(start, start + 5), ['limit', 'cold', 'overload', 'cold', 'limit'], order.join(','));
    assert.equal(new Set(order).size, roundNo === 1 ? SCENARIOS.length : SCENARIOS.length - ONCE.size, 'every scenario of the round');
  }
  const run = (name: ScenarioName, rps: number, p99: number, extra: Record<string, number> = {}): RunFigures =>
    ({ name, round: 1, rps, p99_ms: p99, extra }) as unknown as RunFigures;
  const runs = withRatios([
    run('limit', 10, 0),
    run('cold', 8, 100),
    run('overload', 27, 300, { full_quality_goodput_rps: 9 }),
    run('cold', 10, 200),
    run('limit', 8, 0),
  ]);
  assert.deepEqual(runs.filter((r) => r.name === 'cold').map((r) => r.extra['ratio_to_limit']), [0.889, 1.111]);
  const overload = runs.find((r) => r.name === 'overload')?.extra;
  assert.deepEqual([overload?.['goodput_ratio_to_cold'], overload?.['full_quality_ratio_to_cold'], overload?.['p99_ratio_to_cold']], [3, 1, 2]);
  // A round's figure is the median of its runs: the mean of the two cold runs over the mean of the limits.
  const coldTarget = checkTargets([], runs).find((t) => t.target.startsWith('cold >='));
  assert.deepEqual([coldTarget?.value, coldTarget?.per_round], [1, [1]]);
});
