/**
 * Fallback images through real sockets: a missing source answers the operator's fallback, made
 * like the request (size, format), labelled, with its own status and short Cache-Control; per
 * preset and globally; a missing fallback is a 502 no-store logged as configuration.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../origin/config.js';
import { createPresetCatalog, PresetFileError } from '../presets/preset-registry.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { createSpecParser } from '../transforms/parse-spec.js';
import { decode } from './helpers/images.js';
import { jsonError, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { SAMPLES } from '../support/paths.js';

const PRESETS = {
  presets: {
    avatar: { params: { w: 96, h: 96, fit: 'cover' }, overridable: ['dpr', 'fm'], fallback: 'leaf-alpha.png' },
    broken: { params: { w: 50 }, fallback: 'defaults/nope.png' },
    plain: { params: { w: 80 } },
  },
  watermarks: {},
};

let global: RunningOrigin;
let perPreset: RunningOrigin;
const logLines: string[] = [];

before(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'origin-fallback-'));
  const presets = path.join(dir, 'presets.json');
  await writeFile(presets, JSON.stringify(PRESETS));
  const base = { ORIGIN_SOURCE: `fs:${SAMPLES}`, ORIGIN_VARIANTS_CACHE_BYTES: '0' };
  global = await startOrigin({ ...base, ORIGIN_FALLBACK: 'logo.png', ORIGIN_FALLBACK_STATUS: '200', ORIGIN_FALLBACK_CACHE_CONTROL: 'public, max-age=30' });
  perPreset = await startOrigin({ ...base, ORIGIN_PRESETS: presets }, { write: (l) => void logLines.push(l) });
});
after(() => Promise.all([global.close(), perPreset.close()]));

describe('fallback images', () => {
  test('a missing key answers the global fallback, resized like the request, with its status and Cache-Control', async () => {
    const r = await rawGet(global.url, '/users/42/avatar.jpg?w=64&h=64&fit=cover&fm=webp');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-image-fallback'], '1');
    assert.equal(r.headers['cache-control'], 'public, max-age=30');
    assert.equal(r.headers['content-type'], 'image/webp');
    const image = await decode(r.body);
    assert.deepEqual([image.format, image.width, image.height], ['webp', 64, 64]);
  });

  test('an existing key is served as usual, without the fallback header', async () => {
    const r = await rawGet(global.url, '/evening-glow.jpg?w=64&fm=webp');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-image-fallback'], undefined);
    assert.match(String(r.headers['cache-control']), /max-age=31536000/);
  });

  test("a preset's own fallback, 404 by default, made with the preset's spec", async () => {
    const r = await rawGet(perPreset.url, '/users/7.jpg?preset=avatar&dpr=2&fm=png');
    assert.equal(r.status, 404);
    assert.equal(r.headers['x-image-fallback'], '1');
    assert.equal(r.headers['cache-control'], 'public, max-age=60');
    const image = await decode(r.body);
    assert.deepEqual([image.format, image.width, image.height, image.hasAlpha], ['png', 192, 192, true]);
  });

  test('without any fallback a missing key stays a plain 404, and info=1 never falls back', async () => {
    const r = await rawGet(perPreset.url, '/users/7.jpg?preset=plain');
    assert.equal(r.status, 404);
    assert.equal(jsonError(r).code, 'NOT_FOUND');
    const info = await rawGet(global.url, '/users/7.jpg?info=1');
    assert.equal(info.status, 404);
    assert.equal(info.headers['x-image-fallback'], undefined);
  });

  test('a missing fallback is a 502 no-store, logged as configuration', async () => {
    const r = await rawGet(perPreset.url, '/users/7.jpg?preset=broken');
    assert.equal(r.status, 502);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(jsonError(r).code, 'FALLBACK_MISSING');
    const line = logLines.map((l) => JSON.parse(l) as { msg?: string; configuration?: boolean }).find((l) => l.msg === 'source configuration error');
    assert.equal(line?.configuration, true);
  });

  test('the settings are validated at start-up', () => {
    assert.throws(() => loadConfig({ ORIGIN_FALLBACK: '../secret.png' }), /ORIGIN_FALLBACK: not a source key/);
    assert.throws(() => loadConfig({ ORIGIN_FALLBACK_STATUS: '302' }), /ORIGIN_FALLBACK_STATUS: must be 200 or 404/);
    assert.equal(loadConfig({}).delivery.fallback.status, 404);
  });

  test("a preset's fallback is checked with the preset file", () => {
    const file = { presets: { a: { params: { w: 10 }, fallback: '/abs//x.png' } } };
    assert.throws(() => createPresetCatalog(file, createSpecParser(DEFAULT_LIMITS)), (error: unknown) => {
      assert.ok(error instanceof PresetFileError);
      assert.match(error.problems[0] ?? '', /^preset "a": fallback: not a source key/);
      return true;
    });
  });
});
