/**
 * coldstart: how long a new process (a scaled-out pod, a restart) takes from spawn() to its first
 * 200 image answer, and to `/readyz` answering 200. Both are polled every 5 milliseconds from
 * the moment of spawn; the first image is a thumbnail of the 0.5 MP photo, fetched from storage
 * (S3, the storage child). Each run also starts one process on the folder source holding the
 * same photo (`first_image_fs_ms`), and, on the same folder, the peer ipx
 * (`peer_first_image_fs_ms`) and a minimal Node + sharp server (`floor_first_image_fs_ms`: what
 * Node and sharp alone take on the host at that moment), and spawn to exit of Node with nothing
 * to run (`node_exit_ms`) and of Node loading sharp (`node_sharp_exit_ms`): the part of any image
 * server's start that no server code can remove. The six kinds run interleaved.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep, tailOf } from '../children.js';
import { withAllocator } from '../environment.js';
import { probe, startOriginProcess } from '../origin-process.js';
import { median, round } from '../stats.js';
import { cpuWindow, processCpuSeconds, processMemory } from '../system.js';
import { requestHeaders, requestPath, type ImageRequest } from '../workload.js';
import type { RunFigures, ScenarioContext } from './types.js';

// Fine enough for a 300 ms target; tighter polling costs the starting process CPU on a small machine.
const POLL_MS = 5;
const GIVE_UP_MS = 30_000;
const IPX_ENTRY = fileURLToPath(new URL('../ipx-process.js', import.meta.url));
const MINIMAL_ENTRY = fileURLToPath(new URL('../minimal-image-server.js', import.meta.url));

/** Milliseconds from `spawnedAt` until `url` answers 200, polled every POLL_MS; `log` explains a give-up. */
async function untilOk(url: string, headers: Record<string, string>, spawnedAt: number, log: () => string): Promise<number> {
  while (performance.now() - spawnedAt < GIVE_UP_MS) {
    if ((await probe(url, headers))?.status === 200) return performance.now() - spawnedAt;
    await sleep(POLL_MS);
  }
  throw new Error(`coldstart: ${url} not 200 within ${GIVE_UP_MS} ms:\n${log()}`);
}

/** Spawns a Node server beside the origin (same Node, same allocator) and times spawn() to its first 200 for `url` on its port. */
async function spawnToFirstImage(ctx: ScenarioContext, role: string, entry: string, env: Record<string, string>, url: string): Promise<number> {
  const port = await freePort();
  const spawnedAt = performance.now();
  const child = spawn(ctx.origin.node, [entry], {
    env: withAllocator({ ...process.env, ...env, PORT: String(port) }, ctx.origin.jemallocPath),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  void ctx.children.track(role, child);
  const stderr = tailOf(child.stderr);
  try {
    return await untilOk(`http://127.0.0.1:${port}${url}`, {}, spawnedAt, stderr);
  } finally {
    await ctx.children.stop(child);
  }
}

/** Milliseconds from spawn() to the exit of `node -e <code>` (same Node, same allocator). */
async function spawnToExit(ctx: ScenarioContext, role: string, code: string): Promise<number> {
  const spawnedAt = performance.now();
  const child = spawn(ctx.origin.node, ['-e', code], {
    env: withAllocator({ ...process.env }, ctx.origin.jemallocPath),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = ctx.children.track(role, child);
  const stderr = tailOf(child.stderr);
  const status = await exited;
  if (status.exitCode !== 0) throw new Error(`coldstart: ${role} exited ${status.exitCode}:\n${stderr()}`);
  return performance.now() - spawnedAt;
}

export async function runColdstart(ctx: ScenarioContext, roundNo: number): Promise<RunFigures> {
  const key = ctx.layout.baseKeys[0] as string;
  const first: ImageRequest = { key, query: 'w=200&h=200&fit=cover', client: 'webp' };
  const imageMs: number[] = [];
  const fsImageMs: number[] = [];
  const peerMs: number[] = [];
  const floorMs: number[] = [];
  const nodeMs: number[] = [];
  const nodeSharpMs: number[] = [];
  const readyMs: number[] = [];
  const folder = path.join(ctx.tmpDir, 'coldstart-folder');
  await mkdir(path.join(folder, path.dirname(key)), { recursive: true });
  await writeFile(path.join(folder, key), ctx.layout.imageOf.get(key)?.bytes ?? Buffer.alloc(0));
  const fsEnv = { ORIGIN_SOURCE: `fs:${folder}` };
  const rss: number[] = [];
  const startupCpuMs: number[] = [];
  const exits: (number | null)[] = [];
  // Machine CPU over the runs, to tell a slow start from a busy machine.
  let seconds = 0;
  let originCpu = 0;
  let loadgenCpu = 0;
  let otherCpu = 0;
  let stolen = 0;
  let measured = false;
  const firstImageFromFolder = async (run: number): Promise<number> => {
    const origin = await startOriginProcess(ctx.origin, fsEnv, ctx.children, { role: `origin (coldstart fs #${roundNo}.${run})`, noWait: true });
    try {
      return await untilOk(`${origin.base}${requestPath(first)}`, requestHeaders(first), origin.spawnedAt, origin.logTail);
    } finally {
      exits.push((await origin.stop()).exitCode);
    }
  };
  const fromStorage = async (run: number): Promise<void> => {
    const cpu = cpuWindow({ loadgen: 'self', storage: ctx.storage.pid });
    const origin = await startOriginProcess(ctx.origin, ctx.storage.env, ctx.children, {
      role: `origin (coldstart #${roundNo}.${run})`,
      noWait: true,
    });
    try {
      const [image, ready] = await Promise.all([
        untilOk(`${origin.base}${requestPath(first)}`, requestHeaders(first), origin.spawnedAt, origin.logTail),
        untilOk(`${origin.base}/readyz`, {}, origin.spawnedAt, origin.logTail),
      ]);
      imageMs.push(image);
      readyMs.push(ready);
      const memory = processMemory(origin.pid);
      ctx.observeAllocator(origin.allocatorLoaded());
      if (memory) rss.push(memory.peak / 1e6);
      // Everything the process has used since spawn: its start-up cost in CPU.
      const used = processCpuSeconds(origin.pid);
      const window = cpu.stop();
      if (used !== undefined && window.machineCores !== null) {
        const loadgen = (window.cores['loadgen'] ?? 0) * window.seconds;
        const storage = (window.cores['storage'] ?? 0) * window.seconds;
        startupCpuMs.push(used * 1000);
        seconds += window.seconds;
        originCpu += used;
        loadgenCpu += loadgen;
        otherCpu += Math.max(0, window.machineCores * window.seconds - used - loadgen - storage);
        stolen += (window.steal ?? 0) * window.seconds;
        measured = true;
      }
    } finally {
      exits.push((await origin.stop()).exitCode);
    }
  };
  const kinds = [
    fromStorage,
    async (run: number) => void fsImageMs.push(await firstImageFromFolder(run)),
    async (run: number) =>
      void peerMs.push(await spawnToFirstImage(ctx, `ipx (coldstart #${roundNo}.${run})`, IPX_ENTRY, { IPX_SOURCE_DIR: folder, NODE_ENV: 'production' }, `/f_webp,s_200x200/${key}`)),
    async (run: number) => void floorMs.push(await spawnToFirstImage(ctx, `minimal server (coldstart #${roundNo}.${run})`, MINIMAL_ENTRY, { MINIMAL_SOURCE_DIR: folder }, `/${key}`)),
    async (run: number) => void nodeMs.push(await spawnToExit(ctx, `node alone (coldstart #${roundNo}.${run})`, '0')),
    async (run: number) => void nodeSharpMs.push(await spawnToExit(ctx, `node + sharp (coldstart #${roundNo}.${run})`, "require('sharp')")),
  ];
  for (let i = 0; i < ctx.options.coldstartRuns && !ctx.signal.aborted; i++) {
    // Interleaved: each run starts with the next kind, so no kind always follows the same one.
    for (let k = 0; k < kinds.length; k++) await kinds[(i + k) % kinds.length]?.(i + 1);
  }
  const firstImage = median(imageMs);
  const firstImageFs = median(fsImageMs);
  const ready = median(readyMs);
  return {
    name: 'coldstart',
    round: roundNo,
    rps: null,
    p50_ms: null,
    p95_ms: null,
    p99_ms: null,
    requests: imageMs.length,
    seconds: 0,
    peak_rss_mb: rss.length > 0 ? round(Math.max(...rss), 0) : null,
    server_cores: measured ? round(originCpu / seconds, 2) : null,
    loadgen_cores: measured ? round(loadgenCpu / seconds, 2) : null,
    storage_cores: null,
    other_cores: measured ? round(otherCpu / seconds, 2) : null,
    steal: measured ? round(stolen / seconds, 3) : null,
    note:
      `first image ${firstImage.toFixed(0)} ms (S3), ${firstImageFs.toFixed(0)} ms (folder), /readyz ${ready.toFixed(0)} ms (median of ${imageMs.length}; runs ${imageMs.map((v) => v.toFixed(0)).join('/')} ms); ` +
      `from the same folder ipx ${median(peerMs).toFixed(0)} ms, a minimal Node + sharp server ${median(floorMs).toFixed(0)} ms; ` +
      `spawn to exit of Node alone ${median(nodeMs).toFixed(0)} ms, loading sharp ${median(nodeSharpMs).toFixed(0)} ms; ` +
      `start-up CPU ${median(startupCpuMs).toFixed(0)} ms`,
    extra: {
      first_image_ms: round(firstImage, 1),
      first_image_fs_ms: round(firstImageFs, 1),
      first_image_fs_runs_ms: fsImageMs.map((v) => round(v, 1)),
      peer_first_image_fs_ms: round(median(peerMs), 1),
      peer_first_image_fs_runs_ms: peerMs.map((v) => round(v, 1)),
      floor_first_image_fs_ms: round(median(floorMs), 1),
      floor_first_image_fs_runs_ms: floorMs.map((v) => round(v, 1)),
      node_exit_ms: round(median(nodeMs), 1),
      node_sharp_exit_ms: round(median(nodeSharpMs), 1),
      ready_ms: round(ready, 1),
      first_image_runs_ms: imageMs.map((v) => round(v, 1)),
      ready_runs_ms: readyMs.map((v) => round(v, 1)),
      startup_cpu_ms: round(median(startupCpuMs), 0),
      exit_codes: exits,
    },
  };
}
