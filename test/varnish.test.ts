/**
 * deploy/cdn/varnish.vcl in Varnish 7 from Debian, in front of the real origin (in this process,
 * memory tiers off, so whatever Varnish lets through reaches the transform and the storage):
 *
 *   client ─▶ [plain nginx cache] ─▶ varnishd ─▶ recorder ─▶ origin ─▶ storage (HTTP, loopback)
 *
 * The recorder writes down each request that reaches the origin; the origin's own /metrics count
 * the transforms. Short lifetimes come from presets with their own Cache-Control, and waits are
 * "until the entry has certainly expired", so a slow machine only makes the checks wait longer.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, sleepUntil, until } from './helpers/child-processes.js';
import { BROWSER_ACCEPTS } from './helpers/browsers.js';
import { decode } from './helpers/images.js';
import { startFailingStorage, type FailingStorage } from './helpers/failing-storage.js';
import { findNginx, PLAIN_VARY_CACHE, renderTemplate, startNginx, type RunningNginx } from './helpers/nginx.js';
import { metricSum, rawGet, startOrigin, type RawResponse, type RunningOrigin } from './helpers/origin.js';
import { startRecordingProxy, type Exchange, type RecordingProxy } from './helpers/recording-proxy.js';
import { startVarnish, VARNISHD, type RunningVarnish } from './helpers/varnish.js';
import { PROJECT_ROOT, SAMPLES } from '../support/paths.js';
import { requireSystem } from '../support/system.js';

const accept = (browser: string): string => BROWSER_ACCEPTS.find(([name]) => name === browser)![1];
const CHROME = accept('Chrome');
const FIREFOX = accept('Firefox');
const SAFARI_14 = accept('Safari 14');
const SAFARI_13 = accept('Safari 13');

const ERROR_MAX_AGE = 10;
const PRESETS = {
  brief: { params: { w: 64 }, overridable: ['fm'], cacheControl: 'public, max-age=1' },
  swr: { params: { w: 72 }, overridable: ['fm'], cacheControl: 'public, max-age=1, stale-while-revalidate=600' },
  sie: { params: { w: 80 }, overridable: ['fm'], cacheControl: 'public, max-age=1, stale-if-error=600' },
  sie1: { params: { w: 88 }, overridable: ['fm'], cacheControl: 'public, max-age=1, stale-if-error=1' },
  // Varnish alone would take grace from stale-while-revalidate (1 s); the recipe takes the larger stale-if-error.
  both: { params: { w: 96 }, overridable: ['fm'], cacheControl: 'public, max-age=1, stale-while-revalidate=1, stale-if-error=600' },
};

interface Fetched extends RawResponse {
  readonly doneAt: number;
}

describe(
  'behind Varnish (varnishd running deploy/cdn/varnish.vcl)',
  requireSystem({ file: VARNISHD, debianPackage: 'varnish', what: VARNISHD }, { program: 'nginx', debianPackage: 'nginx' }),
  () => {
    let root: string | undefined;
    let storage: FailingStorage | undefined;
    let origin: RunningOrigin | undefined;
    let recorder: RecordingProxy | undefined;
    let varnish: RunningVarnish | undefined;
    let downstream: RunningNginx | undefined;

    async function via(pathAndQuery: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Fetched> {
      return { ...(await rawGet(varnish!.url, pathAndQuery, headers, method)), doneAt: Date.now() };
    }
    const reached = (pathAndQuery: string): Exchange[] => recorder!.exchanges.filter((e) => e.url === pathAndQuery);
    const status = (r: RawResponse) => r.headers['x-cache-status'];
    const transforms = async () => metricSum(await origin!.metrics(), 'image_origin_transforms_total');

    const URLS = {
      brief: '/evening-glow.jpg?preset=brief',
      swr: '/evening-glow.jpg?preset=swr',
      sie: '/evening-glow.jpg?preset=sie',
      sie1: '/flaky.jpg?preset=sie1',
      flaky: '/flaky.jpg?preset=sie',
      both: '/flaky.jpg?preset=both',
    } as const;
    const stored: Partial<Record<keyof typeof URLS, Fetched>> = {};

    before(async () => {
      root = await mkdtemp(path.join(os.tmpdir(), 'varnish-'));
      const objects = path.join(root, 'storage');
      await mkdir(objects);
      await copyFile(path.join(SAMPLES, 'evening-glow.jpg'), path.join(objects, 'evening-glow.jpg'));
      await copyFile(path.join(SAMPLES, 'evening-glow.jpg'), path.join(objects, 'flaky.jpg'));
      const presetsFile = path.join(root, 'presets.json');
      await writeFile(presetsFile, JSON.stringify({ presets: PRESETS }));
      storage = await startFailingStorage(objects);
      origin = await startOrigin({
        ORIGIN_SOURCE: `${storage.origin}/`,
        ORIGIN_HTTP_ALLOW_PRIVATE: 'true',
        ORIGIN_ORIGINALS_CACHE_BYTES: '0',
        ORIGIN_VARIANTS_CACHE_BYTES: '0',
        ORIGIN_NEGATIVE_TTL_MS: '0',
        ORIGIN_ERROR_CACHE_CONTROL: `public, max-age=${ERROR_MAX_AGE}`,
        ORIGIN_PRESETS: presetsFile,
      });
      recorder = await startRecordingProxy(Number(new URL(origin.url).port));
      const template = await readFile(path.join(PROJECT_ROOT, 'deploy/cdn/varnish.vcl'), 'utf8');
      varnish = await startVarnish(renderTemplate(template, { ORIGIN_HOST: '127.0.0.1', ORIGIN_PORT: String(recorder.port) }), path.join(root, 'varnish'));

      const plainDir = path.join(root, 'downstream');
      await mkdir(plainDir);
      const plainPort = await freePort();
      const plainConfig = path.join(plainDir, 'nginx.conf');
      await writeFile(plainConfig, renderTemplate(PLAIN_VARY_CACHE, { CDN_LISTEN: `127.0.0.1:${plainPort}`, CDN_STATE_DIR: plainDir, IMAGE_ORIGIN: new URL(varnish.url).host }));
      downstream = await startNginx(findNginx().binary, plainConfig, plainDir, plainPort);

      for (const name of Object.keys(URLS) as (keyof typeof URLS)[]) {
        const filled = await via(URLS[name], { accept: CHROME });
        assert.equal(filled.status, 200, `${URLS[name]}: ${filled.body.toString()}`);
        assert.equal(status(filled), 'MISS');
        stored[name] = filled;
      }
    });

    after(async () => {
      await downstream?.stop();
      await varnish?.stop();
      await recorder?.close();
      await origin?.close();
      await storage?.close();
      if (root) await rm(root, { recursive: true, force: true });
    });

    test('a second request is a hit that never reaches the origin; clients keep Vary: Accept; cookies do not bypass the cache', async () => {
      const url = '/evening-glow.jpg?w=320';
      const first = await via(url, { accept: CHROME });
      assert.equal(first.status, 200);
      assert.equal(status(first), 'MISS');
      const second = await via(url, { accept: CHROME, cookie: 'session=abc' });
      assert.equal(status(second), 'HIT', 'a Cookie does not make Varnish pass');
      assert.deepEqual(second.body, first.body);
      assert.equal(reached(url).length, 1);
      assert.equal(reached(url)[0]!.headers.cookie, undefined, 'the origin never sees cookies');
      assert.equal(second.headers.vary, 'Accept, X-Image-Format-Token', 'clients get the origin’s Vary, Accept in it');
      const conditional = await via(url, { accept: CHROME, 'if-none-match': String(first.headers.etag) });
      assert.equal(conditional.status, 304);
      assert.equal(reached(url).length, 1);
    });

    test('per-token formats, never cross-served; Firefox shares Chrome’s entry; a forged token and q=0 follow the origin’s rule', async () => {
      const url = '/evening-glow.jpg?w=300';
      const clients = [
        { name: 'Chrome', accept: CHROME, format: 'avif' },
        { name: 'Safari 14', accept: SAFARI_14, format: 'webp' },
        { name: 'Safari 13', accept: SAFARI_13, format: 'jpeg' },
      ];
      for (const client of clients) {
        const miss = await via(url, { accept: client.accept });
        assert.equal(status(miss), 'MISS', client.name);
        assert.equal((await decode(miss.body)).format, client.format, client.name);
      }
      for (const client of clients) {
        const hit = await via(url, { accept: client.accept });
        assert.equal(status(hit), 'HIT', client.name);
        assert.equal((await decode(hit.body)).format, client.format, `${client.name} is never cross-served`);
      }
      assert.equal((await decode((await via(url, { accept: FIREFOX })).body)).format, 'avif');
      const forged = await via(url, { accept: SAFARI_13, 'x-image-format-token': 'avif' });
      assert.equal(status(forged), 'HIT');
      assert.equal((await decode(forged.body)).format, 'jpeg', 'a client cannot pick another token');
      const refused = await via(url, { accept: 'image/avif;q=0, image/webp' });
      assert.equal(status(refused), 'HIT', 'q=0 for AVIF: the WebP entry');
      assert.equal((await decode(refused.body)).format, 'webp');
      assert.deepEqual(reached(url).map((e) => e.headers['x-image-format-token']), ['avif', 'webp', 'legacy']);
    });

    test('a shared cache downstream that honours Vary keeps formats apart', async () => {
      const url = '/evening-glow.jpg?w=280';
      const chrome = await rawGet(downstream!.url, url, { accept: CHROME });
      assert.equal((await decode(chrome.body)).format, 'avif');
      const safari = await rawGet(downstream!.url, url, { accept: SAFARI_13 });
      assert.equal((await decode(safari.body)).format, 'jpeg', 'Safari 13 behind the proxy gets JPEG, not Chrome’s AVIF');
    });

    test('client hints are snapped at the edge: 20 widths from 401 to 420 make one origin request', async () => {
      const url = '/evening-glow.jpg?w=auto';
      for (let w = 401; w <= 420; w++) {
        const answer = await via(url, { accept: CHROME, 'sec-ch-width': String(w), 'sec-ch-dpr': '2' });
        assert.equal(answer.status, 200);
        assert.equal((await decode(answer.body)).width, 480);
      }
      assert.equal(reached(url).length, 1);
      assert.equal(reached(url)[0]!.headers['sec-ch-width'], '480', 'the origin sees the snapped width');
      assert.equal(reached(url)[0]!.headers['sec-ch-dpr'], undefined, 'and no hint the URL does not ask for');
      const other = await via(url, { accept: CHROME, 'sec-ch-width': '700' });
      assert.equal(status(other), 'MISS');
      assert.equal((await decode(other.body)).width, 750);
    });

    test('errors live as long as their headers say: 404 and 400 for their max-age, 5xx never', async () => {
      const missing = '/no-such-image.jpg?w=100';
      const bad = '/evening-glow.jpg?w=0';
      const first404 = await via(missing, { accept: CHROME });
      const first400 = await via(bad, { accept: CHROME });
      assert.equal(first404.status, 404);
      assert.equal(first400.status, 400);
      assert.equal(first400.headers['cache-control'], `public, max-age=${ERROR_MAX_AGE}`);
      for (const url of [missing, bad]) {
        const again = await via(url, { accept: CHROME });
        assert.equal(status(again), 'HIT', `${url} within max-age comes from the cache`);
        assert.equal(reached(url).length, 1);
      }
      storage!.failing.add('broken.jpg');
      for (let i = 1; i <= 2; i++) {
        const answer = await via('/broken.jpg?w=100', { accept: CHROME });
        assert.equal(answer.status, 502);
        assert.equal(reached('/broken.jpg?w=100').length, i, 'every 5xx request reaches the origin');
      }
      await sleepUntil(Math.max(first404.doneAt, first400.doneAt) + (ERROR_MAX_AGE + 1) * 1000 + 100);
      for (const url of [missing, bad]) {
        const expired = await via(url, { accept: CHROME });
        assert.notEqual(status(expired), 'HIT', `${url} past max-age is asked again`);
        assert.equal(reached(url).length, 2);
      }
    });

    test('an expired entry is revalidated with a conditional request; the origin answers 304', async () => {
      const filled = stored.brief!;
      await sleepUntil(filled.doneAt + 2_000 + 100);
      const revalidated = await via(URLS.brief, { accept: CHROME });
      // No grace (no stale-* directive): a miss on the kept copy, fetched with its validators.
      assert.equal(status(revalidated), 'MISS');
      assert.equal(revalidated.status, 200);
      assert.deepEqual(revalidated.body, filled.body);
      const conditional = reached(URLS.brief)[1]!;
      assert.equal(conditional.headers['if-none-match'], filled.headers.etag);
      assert.equal(conditional.status, 304);
    });

    test('within stale-while-revalidate the stale copy is served at once and revalidated behind', async () => {
      const filled = stored.swr!;
      await sleepUntil(filled.doneAt + 2_000 + 100);
      const stale = await via(URLS.swr, { accept: CHROME });
      assert.equal(status(stale), 'STALE');
      assert.deepEqual(stale.body, filled.body);
      const background = await until('the background revalidation', async () => (reached(URLS.swr)[1]?.status !== undefined ? reached(URLS.swr)[1] : undefined));
      assert.equal(background.headers['if-none-match'], filled.headers.etag);
      assert.equal(background.status, 304);
      await until('the refreshed entry', async () => (status(await via(URLS.swr, { accept: CHROME })) === 'HIT' ? true : undefined));
    });

    test('stale-if-error: while the origin answers 5xx, an expired entry is served stale within the window, not after it', async () => {
      storage!.failing.add('flaky.jpg');
      const sie = stored.flaky!; // max-age=1, stale-if-error=600
      const sie1 = stored.sie1!; // max-age=1, stale-if-error=1
      await sleepUntil(Math.max(sie.doneAt + 2_000, sie1.doneAt + 3_000) + 100);
      const asked = reached(URLS.flaky).length;
      const stale = await via(URLS.flaky, { accept: CHROME });
      assert.equal(stale.status, 200);
      assert.equal(status(stale), 'STALE');
      assert.deepEqual(stale.body, sie.body);
      const refetch = reached(URLS.flaky)[asked]!;
      assert.equal(refetch.status, 502, 'the origin was asked first (past stale-while-revalidate), and failed');
      assert.equal(refetch.headers['if-none-match'], sie.headers.etag, 'as a conditional request');
      const past = await via(URLS.sie1, { accept: CHROME });
      assert.equal(past.status, 502, 'past stale-if-error the origin’s error shows');
      // Grace is the larger window: past stale-while-revalidate=1, stale-if-error=600 still holds.
      const both = stored.both!;
      await sleepUntil(both.doneAt + 3_000 + 100);
      const askedBoth = reached(URLS.both).length;
      const graced = await via(URLS.both, { accept: CHROME });
      assert.equal(graced.status, 200);
      assert.equal(status(graced), 'STALE', 'grace = max(stale-while-revalidate, stale-if-error)');
      // The refetch before answering; serving the stale copy may start a background one behind it,
      // still pending here, so the last exchange is not the one to check.
      assert.equal(reached(URLS.both)[askedBoth]?.status, 502);
    });

    test('HEAD then GET: the HEAD fills the cache with a GET, the GET is a hit; Range is served from the cache', async () => {
      const url = '/evening-glow.jpg?w=256';
      const head = await via(url, { accept: CHROME }, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      assert.deepEqual(reached(url).map((e) => e.method), ['GET']);
      const get = await via(url, { accept: CHROME });
      assert.equal(status(get), 'HIT');
      assert.equal(String(get.body.length), head.headers['content-length']);
      const range = await via(url, { accept: CHROME, range: 'bytes=0-99' });
      assert.equal(range.status, 206);
      assert.deepEqual(range.body, get.body.subarray(0, 100));
      const fresh = '/evening-glow.jpg?w=257';
      const rangeMiss = await via(fresh, { accept: CHROME, range: 'bytes=10-19' });
      assert.equal(rangeMiss.status, 206);
      assert.equal(reached(fresh)[0]!.headers.range, undefined, 'the origin is asked for the whole image');
      assert.deepEqual(rangeMiss.body, (await via(fresh, { accept: CHROME })).body.subarray(10, 20));
    });

    test('concurrent misses collapse: one origin request and one transform for 8 clients', async () => {
      const url = '/evening-glow.jpg?w=900';
      const before = await transforms();
      const answers = await Promise.all(Array.from({ length: 8 }, () => via(url, { accept: CHROME })));
      for (const a of answers) assert.equal(a.status, 200);
      assert.equal(reached(url).length, 1, 'one request reached the origin');
      assert.equal((await transforms()) - before, 1, 'the origin transformed once');
    });

    test('with the origin unreachable, an entry within stale-if-error is served stale, one past it is an error', async () => {
      await recorder!.close(); // the backend port now refuses connections
      const sie = stored.sie!;
      await sleepUntil(sie.doneAt + 2_000 + 100);
      const stale = await via(URLS.sie, { accept: CHROME });
      assert.equal(stale.status, 200);
      assert.equal(status(stale), 'STALE');
      assert.deepEqual(stale.body, sie.body);
      const fresh = await via('/evening-glow.jpg?w=900', { accept: CHROME });
      assert.equal(status(fresh), 'HIT', 'fresh entries need no origin');
      const never = await via('/evening-glow.jpg?w=901', { accept: CHROME });
      assert.equal(never.status, 503, 'nothing stored: Varnish’s own 503');
    });
  },
);
