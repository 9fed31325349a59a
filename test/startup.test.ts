/**
 * Start-up loads only what the configuration uses (README "Start-up and hit-path figures"): the
 * shipped bundle on the folder source serves an image without loading undici or aws4, which only
 * network sources, the S3 result store and the purge hook need, nor prom-client, which the first
 * scrape of /metrics loads. Checked on the bundle itself: the
 * chunks the process loaded are read for the modules esbuild put in them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../support/paths.js';
import { freePort } from './helpers/child-processes.js';
import { rawGet } from './helpers/origin.js';
import { startOriginProcess } from './helpers/origin-process.js';

const NETWORK_ONLY = ['undici', 'aws4'];
const RECORDER = path.join(PROJECT_ROOT, 'dist', 'test', 'helpers', 'record-loads.js');

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'origin-startup-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * The npm modules (`undici/lib/…`) the origin loaded until it served `image` (and answered a
 * scrape of /metrics, with `scrape`): files it read, and those esbuild put in the chunks it read.
 */
async function modulesLoaded(name: string, env: Record<string, string>, image?: string, scrape = false): Promise<Set<string>> {
  const record = path.join(dir, `${name}.txt`);
  const origin = await startOriginProcess(name, { ...env, RECORD_LOADS_TO: record }, ['--import', RECORDER]);
  try {
    if (image) assert.equal((await rawGet(origin.url, image, { accept: 'image/webp' })).status, 200);
    if (scrape) assert.match(await origin.metrics(), /^process_cpu_user_seconds_total /m);
  } finally {
    await origin.stop();
  }
  const modules = new Set<string>();
  const MODULE = /node_modules\/(\S+)/;
  for (const url of (await readFile(record, 'utf8')).split('\n').filter((u) => u.startsWith('file:'))) {
    const direct = MODULE.exec(url)?.[1];
    if (direct) modules.add(direct);
    // esbuild heads each bundled module with its path (`// node_modules/undici/index.js`).
    else if (url.includes('/dist/')) for (const m of (await readFile(fileURLToPath(url), 'utf8')).matchAll(new RegExp(`^// ${MODULE.source}`, 'gm'))) modules.add(m[1]!);
  }
  return modules;
}

/** The npm packages of those modules. */
async function packagesLoaded(name: string, env: Record<string, string>, image?: string, scrape = false): Promise<Set<string>> {
  const modules = await modulesLoaded(name, env, image, scrape);
  return new Set([...modules].map((m) => /^(?:@[^/]+\/)?[^/]+/.exec(m)![0]));
}

const s3Env = async () => ({ ORIGIN_SOURCE: 's3://photos', S3_ENDPOINT: `http://127.0.0.1:${await freePort()}`, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test-secret' });

test('the folder source serves its first image without loading undici or aws4', async () => {
  const loaded = await packagesLoaded('fs-source', {}, '/evening-glow.jpg?w=64');
  assert.ok(loaded.has('fastify'), `the recorder sees the bundle's packages: ${[...loaded].join(', ')}`);
  for (const name of NETWORK_ONLY) assert.equal(loaded.has(name), false, `${name} loaded for a folder source`);
});

test('prom-client loads with the first scrape of /metrics, not before the first image', async () => {
  // Loading it at start-up cost about 23 ms of spawn to the first image (origin/metrics.ts).
  assert.equal((await packagesLoaded('fs-source-no-scrape', {}, '/evening-glow.jpg?w=64')).has('prom-client'), false, 'prom-client loaded before a scrape');
  assert.ok((await packagesLoaded('fs-source-scraped', {}, '/evening-glow.jpg?w=64', true)).has('prom-client'), 'prom-client not loaded by a scrape');
});

test("sharp's JavaScript is in the bundle and its native addon loads beside it", async () => {
  // Outside the bundle require('sharp') resolves and compiles about 20 files and sets up semver
  // a second time (origin/startup/bundle.ts); the image served shows the addon was found.
  const modules = await modulesLoaded('sharp-bundled', {}, '/evening-glow.jpg?w=64');
  for (const file of ['sharp/dist/index.cjs', 'sharp/dist/sharp.cjs', 'detect-libc/lib/detect-libc.js']) assert.ok(modules.has(file), `${file} not in the chunks loaded`);
});

test('an S3 source does load them (the check above can fail)', async () => {
  const loaded = await packagesLoaded('s3-source', await s3Env());
  for (const name of NETWORK_ONLY) assert.ok(loaded.has(name), `${name} not loaded for an S3 source`);
});

test("an S3 source loads undici's Agent, not its index (fetch, WebSocket, mocks)", async () => {
  const undici = [...(await modulesLoaded('s3-source-undici', await s3Env()))].filter((m) => m.startsWith('undici/'));
  assert.ok(undici.includes('undici/lib/dispatcher/agent.js'), `undici's Agent loaded: ${undici.join(', ')}`);
  for (const part of ['undici/index.js', 'undici/lib/web/websocket/', 'undici/lib/mock/', 'undici/lib/cache/']) {
    assert.deepEqual(undici.filter((m) => m.startsWith(part)), [], `${part} loaded for an S3 source`);
  }
});

test("the bundle takes Node's own modules through require, not import", async () => {
  // An `import` of a builtin makes Node read every export once, running its lazy getters (on
  // Node >= 22 node:http's load Node's bundled undici); origin/startup/bundle.ts turns them into
  // `require`. Only the banner's `node:module`, which makes that require, stays an import.
  const chunks = path.join(PROJECT_ROOT, 'dist', 'origin', 'chunks');
  const files = [path.join(PROJECT_ROOT, 'dist', 'origin', 'main.js'), ...(await readdir(chunks)).filter((f) => f.endsWith('.js')).map((f) => path.join(chunks, f))];
  const imported = new Set<string>();
  // Static imports, each on a line of its own in esbuild's output; the chunks' own are relative.
  const IMPORTS = /^import\s*(?:[^;'"]*?\sfrom\s*)?["']([^"']+)["']/gm;
  for (const file of files) {
    for (const m of (await readFile(file, 'utf8')).matchAll(IMPORTS)) if (!m[1]!.startsWith('.')) imported.add(m[1]!);
  }
  assert.deepEqual([...imported], ['node:module']);
});
