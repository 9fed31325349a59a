/**
 * Peak memory of one transform, each in a fresh process (jemalloc preloaded when installed, as in
 * the Docker image): the figures behind transforms/memory-estimate.ts. The child warms every
 * encoder on a tiny image, resets the kernel's peak-RSS mark, runs the one transform, and reports
 * how far the peak rose over the RSS before it, beside the origin's own estimate.
 *
 *     node dist/bench/transform-memory.js [--runs 2]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { canonicalRequests } from './canonical-request.js';
import { findJemalloc, withAllocator } from './environment.js';
import { flagValue } from './flag.js';
import { buildImageSet, type ImageKind } from './images.js';
import type { ClientKind } from './workload.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { estimateMemory, runPipeline } from '../transforms/pipeline.js';

const CASES: readonly { kind: ImageKind; query: string }[] = [
  { kind: 'photo-12mp', query: 'w=640&fm=avif' },
  { kind: 'photo-12mp', query: 'w=1080&fm=avif' },
  { kind: 'photo-12mp', query: 'w=2048&h=2048&fm=avif' },
  { kind: 'photo-12mp', query: 'fm=avif' },
  { kind: 'photo-12mp', query: 'w=2048&h=2048&fm=webp' },
  { kind: 'photo-12mp', query: 'fm=webp' },
  { kind: 'photo-12mp', query: 'fm=jpeg' },
  { kind: 'photo-12mp', query: 'fm=png' },
  { kind: 'photo-2mp', query: 'w=2048&h=2048&fm=avif' },
];

const MB = 1024 * 1024;
const status = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;

async function child(kind: ImageKind, query: string): Promise<void> {
  sharp.cache(false);
  const toSpec = canonicalRequests(DEFAULT_LIMITS);
  const image = (await buildImageSet('full')).find((i) => i.kind === kind);
  if (!image) throw new Error(`no ${kind}`);
  const tiny = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#888' } }).jpeg().toBuffer();
  for (const client of ['avif', 'webp', 'legacy'] as ClientKind[]) await runPipeline(tiny, toSpec({ key: 'x', query: 'w=32', client }), DEFAULT_LIMITS);
  const spec = toSpec({ key: 'x', query, client: 'avif' });
  const estimate = await estimateMemory(image.bytes, spec, DEFAULT_LIMITS);
  writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  const before = status('VmRSS');
  const result = await runPipeline(image.bytes, spec, DEFAULT_LIMITS);
  process.stdout.write(JSON.stringify({ size: `${result.width}x${result.height} ${result.format}`, peak: status('VmHWM') - before, estimate }));
}

function main(): void {
  const runs = Number(flagValue('--runs') ?? 2);
  const jemalloc = findJemalloc();
  console.log(`allocator: ${jemalloc ?? 'glibc (jemalloc not installed)'}`);
  console.log('| source | request | output | peak over the RSS before, MiB | estimate, MiB |\n|---|---|---|---|---|');
  for (const { kind, query } of CASES) {
    const peaks: number[] = [];
    let line: { size: string; estimate: number } | undefined;
    for (let run = 0; run < runs; run++) {
      const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', kind, query], {
        env: withAllocator(process.env, jemalloc),
        encoding: 'utf8',
      });
      if (out.status !== 0) throw new Error(`${kind} ${query}: ${out.stderr}`);
      const measured = JSON.parse(out.stdout) as { size: string; peak: number; estimate: number };
      peaks.push(measured.peak);
      line = measured;
    }
    const range = `${Math.round(Math.min(...peaks) / MB)}–${Math.round(Math.max(...peaks) / MB)}`;
    console.log(`| ${kind} | \`${query}\` | ${line?.size} | ${range} | ${Math.round((line?.estimate ?? 0) / MB)} |`);
  }
}

if (process.argv[2] === '--child') await child(process.argv[3] as ImageKind, process.argv[4] as string);
else main();
