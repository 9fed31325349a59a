/**
 * The low-priority render process pre-renders run in: it makes the same image as the server
 * would, every thread it runs work on is at nice 19 (Linux keeps a nice value per thread), a bad
 * source fails only its own job, a killed process fails the job it held and the next job starts a
 * new one, an idle process leaves, and the copies of the originals it was sent do not pile up.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { createBackgroundRenderer } from '../origin/load/background-renderer.js';
import { imageJob } from '../origin/load/jobs.js';
import { renderJob } from '../origin/load/render-job.js';
import type { SourceKey } from '../origin/sources/source.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { PROJECT_ROOT } from '../support/paths.js';
import { sharp } from '../transforms/sharp.js';
import { until } from './helpers/child-processes.js';
import { decode, imageDistance } from './helpers/images.js';
import { specFor } from './helpers/specs.js';

const renderer = createBackgroundRenderer({ limits: DEFAULT_LIMITS, sharpConcurrency: 2, idleMs: 60_000 });
after(() => renderer.close());

const photo = await readFile(path.join(PROJECT_ROOT, 'samples', 'evening-glow.jpg'));
const job = (query: string, autoQuality = false) =>
  imageJob('photos/evening-glow.jpg' as SourceKey, specFor(query, 'legacy', DEFAULT_LIMITS, { autoQuality, qualityTarget: 77 }));

/** Each thread's nice value (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNiceValues(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

test('renders what the server process renders, with every thread at nice 19', async () => {
  const request = job('w=320&fm=webp&q=70');
  const [background, inline] = await Promise.all([renderer.render(request, photo, {}), renderJob(request, photo, {}, DEFAULT_LIMITS)]);
  assert.equal(background.contentType, 'image/webp');
  assert.equal(background.label, 'webp');
  const [a, b] = await Promise.all([decode(background.data), decode(inline.data)]);
  assert.deepEqual([a.width, a.height, a.format], [b.width, b.height, b.format]);
  assert.ok((await imageDistance(background.data, inline.data)) < 0.5, 'the same pixels, near enough');

  const pid = renderer.pid;
  assert.ok(pid !== undefined);
  const values = threadNiceValues(pid);
  assert.ok(values.length >= 3, `${values.length} threads`);
  assert.deepEqual(new Set(values), new Set([19]), `nice values of the threads: ${values.join(' ')}`);
});

test('autoquality is asked of the server process: the answer it gives is the quality encoded', async () => {
  const asked: string[] = [];
  const low = await renderer.render(job('w=320&fm=jpeg', true), photo, {
    qualityFor: async (format, target) => {
      asked.push(`${format}@${target}`);
      return 20;
    },
  });
  const high = await renderer.render(job('w=320&fm=jpeg', true), photo, { qualityFor: async () => 95 });
  assert.deepEqual(asked, ['jpeg@77']);
  assert.ok(low.data.byteLength * 2 < high.data.byteLength, `q20 ${low.data.byteLength} B against q95 ${high.data.byteLength} B`);
});

test('a bad source fails its own job only', async () => {
  await assert.rejects(renderer.render(job('w=100&fm=png'), Buffer.from('not an image at all'), {}), (error: Error & { code?: string }) => {
    assert.equal(error.name, 'UnsupportedFormatError');
    assert.equal(error.code, 'UNSUPPORTED_FORMAT');
    return true;
  });
  const next = await renderer.render(job('w=100&fm=png'), photo, {});
  assert.equal((await decode(next.data)).width, 100);
});

test('a killed process fails the job it held; the next job starts a new one', async () => {
  await renderer.render(job('w=64&fm=png'), photo, {});
  const first = renderer.pid!;
  const held = renderer.render(job('w=2000&fm=avif&q=90'), photo, {});
  process.kill(first, 'SIGKILL');
  await assert.rejects(held, /background render process ended/);
  const next = await renderer.render(job('w=64&fm=png'), photo, {});
  assert.equal((await decode(next.data)).width, 64);
  assert.notEqual(renderer.pid, first);
});

test('an idle process leaves', async () => {
  const brief = createBackgroundRenderer({ limits: DEFAULT_LIMITS, sharpConcurrency: 1, idleMs: 200 });
  try {
    await brief.render(job('w=64&fm=png'), photo, {});
    const pid = brief.pid!;
    await until('the idle process to leave', async () => (brief.pid === undefined ? true : undefined), { capMs: 10_000 });
    assert.throws(() => process.kill(pid, 0), 'the process is gone');
  } finally {
    brief.close();
  }
});

/** Anonymous (heap) memory resident in a process (RssAnon), in bytes. */
function anonymousMemory(pid: number): number {
  return Number(/^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
}

const JOBS = 24;

test('the copies of the originals sent to it do not pile up: it collects them after every job', async () => {
  // A 7 MB original: each job arrives with its own copy of it.
  const noise = await sharp({ create: { width: 2400, height: 2400, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
    .jpeg({ quality: 100 })
    .toBuffer();
  const small = job('w=48&fm=png');
  await renderer.render(small, noise, {});
  const before = anonymousMemory(renderer.pid!);
  let grown = 0;
  for (let i = 0; i < JOBS; i++) {
    await renderer.render(small, noise, {});
    grown = Math.max(grown, anonymousMemory(renderer.pid!) - before);
  }
  // Left to V8, the dead copies stayed until tens of megabytes had piled up.
  assert.ok(grown < 4 * noise.byteLength, `grew up to ${(grown / 1e6).toFixed(1)} MB over ${JOBS} jobs of a ${(noise.byteLength / 1e6).toFixed(1)} MB original`);
});
