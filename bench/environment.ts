/**
 * Where the figures were measured: versions (Node, sharp, libvips, load tools), CPU model and
 * cores, memory, the allocator the origin ran with, and the commit. Optional tools (wrk,
 * jemalloc) are detected here; when absent the benchmark falls back and says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../support/paths.js';
import { wrkVersion, type LoadTool } from './fixed-load.js';
import type { AllocatorChoice, ToolChoice } from './options.js';

const JEMALLOC_CANDIDATES = [
  // The Docker image's symlink, then Debian's multiarch locations.
  '/usr/local/lib/libjemalloc.so.2',
  `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libjemalloc.so.2`,
  '/usr/lib/libjemalloc.so.2',
];

export function findJemalloc(): string | undefined {
  return JEMALLOC_CANDIDATES.find((p) => existsSync(p));
}

/** jemalloc's settings in the Docker image (its `MALLOC_CONF`; the Dockerfile says why). */
export const JEMALLOC_CONF = 'narenas:1,background_thread:true,dirty_decay_ms:1000';

/**
 * A child's environment with the allocator of the run: jemalloc preloaded and configured as in the
 * Docker image (a `MALLOC_CONF` of the caller's own wins, for experiments), or neither.
 */
export function withAllocator(env: NodeJS.ProcessEnv, jemallocPath: string | undefined): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _preload, MALLOC_CONF: conf, ...rest } = env;
  return jemallocPath === undefined ? rest : { ...rest, LD_PRELOAD: jemallocPath, MALLOC_CONF: conf ?? JEMALLOC_CONF };
}

export interface Allocator {
  readonly name: 'glibc' | 'jemalloc';
  readonly path: string | undefined;
  readonly why: string;
}

export function chooseAllocator(choice: AllocatorChoice): Allocator {
  const found = findJemalloc();
  if (choice === 'glibc') return { name: 'glibc', path: undefined, why: '--allocator glibc' };
  if (choice === 'jemalloc') {
    if (!found) throw new Error(`--allocator jemalloc: libjemalloc.so.2 not found (looked in ${JEMALLOC_CANDIDATES.join(', ')})`);
    return { name: 'jemalloc', path: found, why: '--allocator jemalloc' };
  }
  return found
    ? { name: 'jemalloc', path: found, why: `installed, preloaded and configured as in the Docker image (MALLOC_CONF=${process.env['MALLOC_CONF'] ?? JEMALLOC_CONF})` }
    : { name: 'glibc', path: undefined, why: 'jemalloc not installed (apt-get install libjemalloc2 to match the Docker image)' };
}

export function chooseTool(choice: ToolChoice): { tool: LoadTool; why: string } {
  const wrk = wrkVersion();
  if (choice === 'wrk') {
    if (!wrk) throw new Error('--tool wrk: wrk is not installed (apt-get install wrk)');
    return { tool: 'wrk', why: '--tool wrk' };
  }
  if (choice === 'autocannon') return { tool: 'autocannon', why: '--tool autocannon' };
  return wrk
    ? { tool: 'wrk', why: 'installed' }
    : { tool: 'autocannon', why: 'wrk not installed: autocannon with worker threads (coarser latency, more CPU per request)' };
}

function packageVersion(name: string): string {
  try {
    const file = path.join(PROJECT_ROOT, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export interface Environment {
  readonly host: string;
  readonly node: string;
  /** The origin processes' Node.js (`--node`), when it is not the benchmark's own. */
  readonly origin_node: string;
  readonly sharp: string;
  readonly libvips: string;
  readonly cpu_model: string;
  readonly cores: number;
  readonly available_parallelism: number;
  readonly memory_gib: number;
  readonly platform: string;
  readonly kernel: string;
  readonly commit: string;
  readonly load_tools: { readonly wrk: string | null; readonly autocannon: string; readonly undici: string };
  readonly loadavg_start: readonly number[];
}

export function describeEnvironment(originNode: string = process.execPath): Environment {
  const cpus = os.cpus();
  return {
    host: os.hostname(),
    node: process.version,
    origin_node: originNode === process.execPath ? process.version : execFileSync(originNode, ['--version'], { encoding: 'utf8' }).trim(),
    sharp: sharp.versions.sharp ?? 'unknown',
    libvips: sharp.versions.vips,
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    available_parallelism: os.availableParallelism(),
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${process.arch}`,
    kernel: os.release(),
    commit: commit(),
    load_tools: { wrk: wrkVersion() ?? null, autocannon: packageVersion('autocannon'), undici: packageVersion('undici') },
    loadavg_start: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
