/**
 * The request flow at its seam (`serveImage`), without sockets: the real parts (config, the
 * samples folder as the source, tiers, queues, the pipeline) wired by `createOriginParts`, called
 * with plain request objects. End-to-end behaviour over HTTP is in the server-*.test.ts suites.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../origin/config.js';
import { createOriginParts, type OriginParts } from '../origin/create-origin.js';
import { serveImage, type IncomingRequest } from '../origin/flow/serve-image.js';
import { createSource } from '../origin/sources/create-source.js';
import type { ImageSource } from '../origin/sources/source.js';
import { decode } from './helpers/images.js';
import { SAMPLES } from '../support/paths.js';

interface Flow extends OriginParts {
  readonly calls: { fetch: number; stat: number };
}

async function flow(env: Record<string, string> = {}): Promise<Flow> {
  const config = loadConfig({ ORIGIN_SOURCE: `fs:${SAMPLES}`, ...env });
  const real = await createSource(config);
  const calls = { fetch: 0, stat: 0 };
  const source: ImageSource = {
    description: real.description,
    fetch: (key, signal) => (calls.fetch++, real.fetch(key, signal)),
    stat: (key, signal) => (calls.stat++, real.stat(key, signal)),
    close: () => real.close(),
  };
  return { ...createOriginParts(config, source), calls };
}

function request(url: string, headers: Record<string, string> = {}): IncomingRequest {
  const [path = '', rawQuery = ''] = url.split('?');
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { path, rawQuery, header: (name) => lower[name], signal: new AbortController().signal };
}

const transforms = (parts: OriginParts) => parts.metrics.transforms.total();

describe('serveImage', () => {
  test('a new variant is made once, then answered from the variant tier', async () => {
    const parts = await flow();
    const first = await serveImage(parts.flow, request('/evening-glow.jpg?w=300&fm=webp'));
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-type'], 'image/webp');
    assert.equal((await decode(first.body!)).width, 300);
    assert.equal(first.log.cache, undefined);
    const again = await serveImage(parts.flow, request('/evening-glow.jpg?fm=webp&w=300'));
    assert.equal(again.log.cache, 'hit');
    assert.equal(again.headers.etag, first.headers.etag);
    assert.equal(transforms(parts), 1);
    assert.equal(parts.calls.fetch, 1);
  });

  test('concurrent requests for one variant share one transform and one fetch', async () => {
    const parts = await flow();
    const answers = await Promise.all(Array.from({ length: 5 }, () => serveImage(parts.flow, request('/evening-glow.jpg?w=200&fm=jpeg'))));
    assert.equal(new Set(answers.map((a) => a.headers.etag)).size, 1);
    assert.equal(transforms(parts), 1);
    assert.equal(parts.calls.fetch, 1);
  });

  test('a conditional request for a variant not kept is a 304 after a stat, with no fetch or transform', async () => {
    const made = await serveImage((await flow()).flow, request('/evening-glow.jpg?w=120&fm=avif'));
    const parts = await flow();
    const conditional = request('/evening-glow.jpg?w=120&fm=avif', { 'If-None-Match': made.headers.etag! });
    const answers = await Promise.all([serveImage(parts.flow, conditional), serveImage(parts.flow, conditional)]);
    assert.deepEqual(answers.map((a) => a.status), [304, 304]);
    assert.equal(answers[0]!.body, undefined);
    assert.deepEqual(parts.calls, { fetch: 0, stat: 1 }, 'stats are coalesced, nothing is fetched');
    assert.equal(transforms(parts), 0);
  });

  test('fm=auto names the token in Vary and X-Image-Format-Token; hints add theirs', async () => {
    const parts = await flow();
    const answer = await serveImage(parts.flow, request('/evening-glow.jpg?w=auto', { Accept: 'image/avif,image/webp,*/*', 'Sec-CH-Width': '500' }));
    assert.equal(answer.headers['content-type'], 'image/avif');
    assert.equal(answer.headers['x-image-format-token'], 'avif');
    assert.match(answer.headers.vary!, /^Accept, X-Image-Format-Token, .*Sec-CH-Width.*Save-Data$/);
    assert.equal((await decode(answer.body!)).width, 640, 'snapped up to a width step');
    const explicit = await serveImage(parts.flow, request('/evening-glow.jpg?w=100&fm=png'));
    assert.equal(explicit.headers.vary, undefined);
    assert.equal(explicit.headers['x-image-format-token'], undefined);
  });

  test('under pressure a new variant is its economy twin: WebP for AVIF, a short Cache-Control, its own key', async () => {
    const parts = await flow({ ORIGIN_DEGRADE_QUEUE_DEPTH: '1' });
    const held = parts.transformQueue.reserve(); // one transform admitted and not yet running
    try {
      const answer = await serveImage(parts.flow, request('/evening-glow.jpg?w=150', { Accept: 'image/avif,image/webp' }));
      assert.equal(answer.headers['content-type'], 'image/webp');
      assert.equal(answer.headers['cache-control'], 'public, max-age=60');
      assert.equal(answer.headers['x-image-format-token'], 'avif', 'the CDN key is still the request token');
      assert.equal(answer.log.degraded, true);
      assert.match(answer.log.variant, /fm=auto-webp.*eco=1$/);
    } finally {
      held.cancel();
    }
  });

  test('under pressure a request cheaper than those before it keeps full quality; an expensive one is timed once, then degraded', async () => {
    // Eight slots: a budget (a quarter of 8 slot-seconds) that the first 1600-px AVIF fits however slow the machine.
    const parts = await flow({ ORIGIN_DEGRADE_QUEUE_DEPTH: '1', ORIGIN_TRANSFORM_CONCURRENCY: '8' });
    const avif = { Accept: 'image/avif,image/webp' };
    // Times the cheap kind: thumbnails of this photo (one cost class: same size step, same source).
    for (const w of [120, 124, 128]) await serveImage(parts.flow, request(`/evening-glow.jpg?w=${w}`, avif));
    // Two larger kinds before it: the thumbnail is then in the cheaper half of the recent requests
    // whatever the timings on a busy machine (three thumbnails alone compare their own noise).
    for (const w of [640, 900]) await serveImage(parts.flow, request(`/evening-glow.jpg?w=${w}`, avif));
    const held = parts.transformQueue.reserve(); // pressure: one transform admitted and not yet running
    try {
      const cheap = await serveImage(parts.flow, request('/evening-glow.jpg?w=126', avif));
      assert.equal(cheap.log.degraded, undefined, 'a thumbnail keeps full quality');
      assert.equal(cheap.headers['content-type'], 'image/avif');
      // A size never made at full quality is made so once (its estimate is a guess), then judged by its time.
      const first = await serveImage(parts.flow, request('/evening-glow.jpg?w=1600', avif));
      assert.equal(first.log.degraded, undefined, 'the first large AVIF is timed at full quality');
      const expensive = await serveImage(parts.flow, request('/evening-glow.jpg?w=1610', avif));
      assert.equal(expensive.log.degraded, true, 'the next of its kind is made the cheap way');
      assert.equal(expensive.headers['content-type'], 'image/webp');
    } finally {
      held.cancel();
    }
  });

  test('under pressure a request joins the full-quality transform already running instead of degrading', async () => {
    const parts = await flow({ ORIGIN_DEGRADE_QUEUE_DEPTH: '1' });
    const url = '/evening-glow.jpg?w=1200&fm=avif';
    const first = serveImage(parts.flow, request(url));
    await new Promise((resolve) => setImmediate(resolve)); // the first has reserved its queue place
    assert.ok(parts.transformQueue.queued + parts.transformQueue.running >= 1);
    const answers = await Promise.all([first, ...Array.from({ length: 3 }, () => serveImage(parts.flow, request(url)))]);
    assert.equal(new Set(answers.map((a) => a.headers.etag)).size, 1, 'one body for all four');
    assert.ok(answers.every((a) => a.log.degraded === undefined));
    assert.equal(transforms(parts), 1);
  });

  test('info requests answer JSON about the source', async () => {
    const answer = await serveImage((await flow()).flow, request('/leaf-alpha.png?info=1'));
    assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
    const info = JSON.parse(answer.body!.toString()) as { format: string; hasAlpha: boolean };
    assert.deepEqual([info.format, info.hasAlpha], ['png', true]);
  });

  test('bad requests are refused before the source is asked', async () => {
    const parts = await flow();
    await assert.rejects(serveImage(parts.flow, request('/evening-glow.jpg?w=0')), { status: 400, code: 'INVALID_PARAMS' });
    await assert.rejects(serveImage(parts.flow, request('/..%2fetc/passwd?w=10')), { status: 400, code: 'INVALID_KEY' });
    await assert.rejects(serveImage(parts.flow, request('/evening-glow.jpg?preset=nope')), { status: 404, code: 'UNKNOWN_PRESET' });
    assert.deepEqual(parts.calls, { fetch: 0, stat: 0 });
  });
});
