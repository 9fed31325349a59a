/**
 * libvips' workers are lowered below the event loop (nice 10, the main thread stays at 0), and a
 * second sweep finds nothing left to lower. (The module does nothing without Linux's /proc; the
 * suite reads /proc.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { test } from 'node:test';
import sharp from 'sharp';
import { ConfigError, loadConfig } from '../origin/config.js';
import { lowerTransformThreads, TRANSFORM_THREAD_NICE } from '../origin/load/thread-priority.js';

const threads = () =>
  readdirSync('/proc/self/task').map((tid) => ({ tid: Number(tid), name: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), nice: getPriority(Number(tid)) }));

test('libvips workers run at nice 10; the event loop stays at 0', async () => {
  sharp.concurrency(2);
  await sharp({ create: { width: 512, height: 512, channels: 3, background: '#345' } }).avif({ effort: 0 }).toBuffer();
  const workers = threads().filter((t) => t.name === 'libvips worker');
  assert.ok(workers.length > 0, 'libvips started workers');
  assert.ok(workers.every((t) => t.nice === 0), 'threads start at the process nice value');

  assert.equal(lowerTransformThreads(), workers.length);
  assert.equal(lowerTransformThreads(), 0, 'a second sweep finds nothing left to lower');
  for (const t of threads()) {
    assert.equal(t.nice, t.name === 'libvips worker' ? TRANSFORM_THREAD_NICE : 0, `${t.name} ${t.tid}`);
  }
  // Work still runs on the lowered workers.
  const out = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#345' } }).webp().toBuffer();
  assert.equal((await sharp(out).metadata()).width, 256);
});

test('ORIGIN_TRANSFORM_THREAD_NICE: 10 unless set, 0 turns it off, above 19 refused', () => {
  assert.equal(loadConfig({}, '/srv').transformThreadNice, TRANSFORM_THREAD_NICE);
  assert.equal(loadConfig({ ORIGIN_TRANSFORM_THREAD_NICE: '0' }, '/srv').transformThreadNice, 0);
  assert.throws(() => loadConfig({ ORIGIN_TRANSFORM_THREAD_NICE: '20' }, '/srv'), (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.startsWith('ORIGIN_TRANSFORM_THREAD_NICE')));
});
