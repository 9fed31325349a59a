/**
 * The fleet's settings and the rules between them, checked at start-up; and the result tier's
 * refusal to keep degraded variants, against a real folder store.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { canonicalizeSpec } from '../transforms/canonical.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { ConfigError, loadConfig } from '../origin/config.js';
import { createOriginParts } from '../origin/create-origin.js';
import { economyJob, imageJob } from '../origin/load/jobs.js';
import { createSource } from '../origin/sources/create-source.js';
import type { SourceKey } from '../origin/sources/source.js';
import { listenOnLoopback } from './helpers/loopback-server.js';

async function problems(env: Record<string, string>): Promise<string> {
  try {
    const config = loadConfig(env);
    createOriginParts(config, await createSource(config));
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

test('the admin port needs its token, pre-rendering a result store and presets that exist', async () => {
  assert.match(await problems({ ORIGIN_ADMIN_PORT: '9465' }), /ORIGIN_ADMIN_TOKEN: required with ORIGIN_ADMIN_PORT/);
  assert.match(await problems({ ORIGIN_ADMIN_PORT: '9465', ORIGIN_ADMIN_TOKEN: 'short' }), /ORIGIN_ADMIN_TOKEN: needs at least 16 characters/);
  assert.match(await problems({ ORIGIN_PRERENDER: 'thumb' }), /ORIGIN_PRERENDER: needs ORIGIN_RESULT_STORE/);
  assert.match(await problems({ ORIGIN_PRERENDER: 'thumb,nope', ORIGIN_RESULT_STORE: 'fs:/tmp/x' }), /ORIGIN_PRERENDER: no preset named "nope"/);
  assert.match(await problems({ ORIGIN_RESULT_STORE: 'gs://bucket' }), /ORIGIN_RESULT_STORE: expected s3:\/\/<bucket>/);
  assert.match(await problems({ ORIGIN_RESULT_STORE: 's3://results', RESULT_AWS_ACCESS_KEY_ID: 'x' }), /RESULT_AWS_ACCESS_KEY_ID \/ RESULT_AWS_SECRET_ACCESS_KEY: set both or neither/);
});

test('the result store takes the source\'s S3 settings unless RESULT_* override them; the memory TTL shortens', () => {
  const source = { ORIGIN_SOURCE: 's3://photos/originals', S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: 'src', AWS_SECRET_ACCESS_KEY: 'src-secret' };
  const same = loadConfig({ ...source, ORIGIN_RESULT_STORE: 's3://results/v1' });
  assert.deepEqual(same.resultStore?.kind === 's3' && same.resultStore.target, {
    bucket: 'results',
    prefix: 'v1/',
    endpoint: 'http://minio:9000',
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'src', secretAccessKey: 'src-secret' },
  });
  assert.equal(same.cache.ttlSeconds, 60);
  const own = loadConfig({ ...source, ORIGIN_RESULT_STORE: 's3://results', RESULT_S3_ENDPOINT: 'https://oss-cn-hangzhou.aliyuncs.com', RESULT_S3_REGION: 'cn-hangzhou', RESULT_S3_FORCE_PATH_STYLE: 'false', RESULT_AWS_ACCESS_KEY_ID: 'res', RESULT_AWS_SECRET_ACCESS_KEY: 'res-secret' });
  assert.deepEqual(own.resultStore?.kind === 's3' && own.resultStore.target, {
    bucket: 'results',
    prefix: '',
    endpoint: 'https://oss-cn-hangzhou.aliyuncs.com',
    region: 'cn-hangzhou',
    forcePathStyle: false,
    credentials: { accessKeyId: 'res', secretAccessKey: 'res-secret' },
  });
  assert.equal(loadConfig({}).cache.ttlSeconds, 300);
  assert.equal(loadConfig({ ORIGIN_RESULT_STORE: 'fs:/tmp/r', ORIGIN_CACHE_TTL_SECONDS: '900' }).cache.ttlSeconds, 900);
});

test('degraded (economy) variants are never written to the store; full-quality ones are', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'results-eco-'));
  try {
    const config = loadConfig({ ORIGIN_RESULT_STORE: `fs:${dir}` });
    const { results } = createOriginParts(config, await createSource(config));
    const spec = canonicalizeSpec({ w: 100 }, { token: 'avif', dpr: 1 }, DEFAULT_LIMITS);
    const full = imageJob('a.jpg' as SourceKey, spec);
    const cheap = economyJob(full)!;
    const made = { data: Buffer.from('bytes'), contentType: 'image/avif', etag: '"x"', sourceMs: 0, transformMs: 0, bytesIn: 0 };
    results!.keep(cheap, made, 'v1');
    assert.equal(results!.queueDepth, 0, 'nothing queued for the economy twin');
    results!.keep(full, made, 'v1');
    await results!.written(full.variant);
    const files = await readdir(dir, { recursive: true });
    assert.equal(files.filter((f) => !f.endsWith('.meta.json') && f.split(path.sep).length === 3).length, 1);
    await results!.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the purge webhook is called once per key with {key}, URL-encoded, slashes kept', async () => {
  const { createPurgeHook } = await import('../origin/fleet/purge-hook.js');
  const seen: { url: string; body: string }[] = [];
  let all!: () => void;
  const done = new Promise<void>((resolve) => (all = resolve));
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', body });
      res.end('ok');
      if (seen.length === 3) all();
    });
  });
  const port = await listenOnLoopback(server);
  try {
    const warnings: unknown[] = [];
    createPurgeHook(`http://127.0.0.1:${port}/purge/{key}`, (fields) => warnings.push(fields))('block', ['photos/a b.jpg', 'é.png']);
    createPurgeHook(`http://127.0.0.1:${port}/purge-all`, (fields) => warnings.push(fields))('purge', ['x.jpg', 'y.jpg']);
    await done;
    assert.deepEqual(
      seen.map((s) => [s.url, JSON.parse(s.body)]).sort(),
      [
        ['/purge-all', { action: 'purge', keys: ['x.jpg', 'y.jpg'] }],
        ['/purge/%C3%A9.png', { action: 'block', keys: ['é.png'] }],
        ['/purge/photos/a%20b.jpg', { action: 'block', keys: ['photos/a b.jpg'] }],
      ].sort(),
    );
    assert.deepEqual(warnings, []);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
