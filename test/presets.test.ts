/** Presets: the registry's start-up validation, and `?preset=` through the real server. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_PRESET_FILE } from '../presets/default-presets.js';
import { createPresetCatalog, PresetFileError } from '../presets/preset-registry.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { createSpecParser } from '../transforms/parse-spec.js';
import { decode } from './helpers/images.js';
import { jsonError, rawGet, startOrigin, type RunningOrigin } from './helpers/origin.js';
import { CORPUS, PROJECT_ROOT } from '../support/paths.js';

const parseSpec = createSpecParser(DEFAULT_LIMITS);
const PHOTO = '/photos/evening-glow-baseline.jpg';

/** Problems with a file holding just these presets. */
function problemsOf(presets: unknown): readonly string[] {
  try {
    createPresetCatalog({ presets }, parseSpec);
  } catch (error) {
    assert.ok(error instanceof PresetFileError);
    return error.problems;
  }
  assert.fail('expected a PresetFileError');
}

describe('preset files', () => {
  test('the shipped presets are valid and include thumb, avatar, feed and full', () => {
    const { presets, watermarks } = createPresetCatalog(DEFAULT_PRESET_FILE, parseSpec);
    for (const name of ['thumb', 'avatar', 'feed', 'full']) assert.ok(presets.has(name), name);
    assert.equal(watermarks.get('sample-text')?.kind, 'text');
  });

  test('a broken preset is named, with what is wrong', () => {
    assert.deepEqual(problemsOf({ thumb: { params: { w: 100_000 } } }), ['preset "thumb": w: must be at most 8192']);
    assert.match(problemsOf({ big: { params: { fit: 'stretch' } } })[0]!, /^preset "big": fit: must be one of/);
    assert.match(problemsOf({ x: { params: { width: 10 } } })[0]!, /^preset "x": params: .*"width"/);
    assert.match(problemsOf({ x: { params: {}, overridable: ['preset'] } })[0]!, /^preset "x": overridable\.0: /);
    assert.match(problemsOf({ x: { params: {}, quality: { png: 5 } } })[0]!, /^preset "x": quality: /);
    assert.match(problemsOf({ 'Bad Name': { params: {} } })[0]!, /^preset "Bad Name": bad name: names are/);
    assert.match(problemsOf({ x: { params: { wm: 'nope' } } })[0]!, /^preset "x": wm: no watermark named "nope"/);
  });

  test('a broken preset file stops start-up with a message naming the preset', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'presets-'));
    const file = path.join(dir, 'presets.json');
    await writeFile(file, JSON.stringify({ presets: { hero: { params: { w: 1200, q: 500 } } } }));
    const run = spawnSync(process.execPath, ['dist/origin/main.js'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ORIGIN_PRESETS: file, PORT: '0' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /ORIGIN_PRESETS .*preset "hero": q: must be at most 100/);
    await writeFile(file, '{ not json');
    const invalid = spawnSync(process.execPath, ['dist/origin/main.js'], { cwd: PROJECT_ROOT, env: { ...process.env, ORIGIN_PRESETS: file, PORT: '0' }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /ORIGIN_PRESETS/);
  });
});

describe('?preset= through the server', () => {
  let origin: RunningOrigin;
  let only: RunningOrigin;
  before(async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'presets-'));
    const file = path.join(dir, 'presets.json');
    await writeFile(
      file,
      JSON.stringify({
        ...DEFAULT_PRESET_FILE,
        presets: {
          ...DEFAULT_PRESET_FILE.presets,
          card: { params: { w: 300, h: 200, fit: 'cover', fm: 'webp' }, overridable: ['dpr'], cacheControl: 'public, max-age=600', quality: { webp: 40 } },
        },
      }),
    );
    origin = await startOrigin({ ORIGIN_SOURCE: `fs:${CORPUS}`, ORIGIN_PRESETS: file });
    only = await startOrigin({ ORIGIN_SOURCE: `fs:${CORPUS}`, ORIGIN_PRESETS: file, ORIGIN_PRESETS_ONLY: 'true' });
  });
  after(async () => {
    await origin.close();
    await only.close();
  });

  test('a preset applies its parameters', async () => {
    const r = await rawGet(origin.url, `${PHOTO}?preset=thumb&fm=png`);
    assert.equal(r.status, 200);
    const d = await decode(r.body);
    assert.deepEqual([d.format, d.width, d.height], ['png', 200, 200]);
  });

  test('allowed overrides apply; the result is the same variant as the spelled-out URL', async () => {
    const viaPreset = await rawGet(origin.url, `${PHOTO}?preset=thumb&dpr=2&fm=webp`);
    assert.deepEqual([(await decode(viaPreset.body)).width], [400]);
    const spelledOut = await rawGet(origin.url, `${PHOTO}?w=400&h=400&fit=cover&pos=attention&fm=webp`);
    assert.equal(viaPreset.headers.etag, spelledOut.headers.etag);
  });

  test('anything the preset does not allow is a 400 naming it', async () => {
    const r = await rawGet(origin.url, `${PHOTO}?preset=thumb&w=500&blur=3`);
    assert.equal(r.status, 400);
    const error = jsonError(r);
    assert.deepEqual(error.problems?.map((p) => p.param).sort(), ['blur', 'w']);
    assert.match(error.problems![0]!.message, /overridable: dpr, fm/);
  });

  test('an unknown preset is a 404 with a JSON error', async () => {
    const r = await rawGet(origin.url, `${PHOTO}?preset=nope`);
    assert.equal(r.status, 404);
    assert.equal(jsonError(r).code, 'UNKNOWN_PRESET');
  });

  test('a preset carries its own Cache-Control and qualities per format', async () => {
    const viaPreset = await rawGet(origin.url, `${PHOTO}?preset=card`);
    assert.equal(viaPreset.headers['cache-control'], 'public, max-age=600');
    const spelledOut = await rawGet(origin.url, `${PHOTO}?w=300&h=200&fit=cover&fm=webp&q=40`);
    assert.equal(viaPreset.headers.etag, spelledOut.headers.etag, 'quality 40 came from the preset');
    // The shipped avatar preset aims higher (qualityTarget 82) than ORIGIN_QUALITY_TARGET (77).
    const avatar = await rawGet(origin.url, `${PHOTO}?preset=avatar&fm=jpeg`);
    const avatarSpelled = await rawGet(origin.url, `${PHOTO}?w=96&h=96&fit=cover&pos=attention&fm=jpeg`);
    assert.notEqual(avatar.headers.etag, avatarSpelled.headers.etag, 'another target is another variant');
    assert.ok(avatar.body.byteLength > avatarSpelled.body.byteLength, `${avatar.body.byteLength} vs ${avatarSpelled.body.byteLength} bytes`);
  });

  test('presets-only mode refuses free-form parameters and bare URLs, serves presets', async () => {
    for (const p of [`${PHOTO}?w=100`, PHOTO]) {
      const r = await rawGet(only.url, p);
      assert.equal(r.status, 400, p);
      assert.equal(jsonError(r).code, 'PRESET_REQUIRED');
    }
    assert.equal((await rawGet(only.url, `${PHOTO}?preset=feed&w=320`)).status, 200);
  });
});
