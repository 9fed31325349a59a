/**
 * The origin behind a real HTTP cache: nginx from Debian's packages runs deploy/cdn/nginx.conf
 * (the reference CDN configuration, README "CDN cache keys") on loopback in front of the real
 * origin process (`node dist/origin/main.js`). A recording forwarder between the two writes down
 * every request that reaches the origin, so "never reached the origin" and "revalidated with a
 * conditional request that got 304" are facts read off the wire, not inferred.
 *
 *   client ──▶ nginx (proxy_cache) ──▶ recorder ──▶ origin process ──▶ storage (HTTP, loopback)
 *
 * The origin's own memory tiers are off here, so whatever the cache lets through also reaches the
 * storage: the only cache under test is nginx's. Short lifetimes come from presets with their own
 * Cache-Control (`max-age=1`, …); waits are "until the entry has certainly expired" (nginx keeps
 * time in whole seconds), and windows that must still be open are minutes long, so a slow machine
 * can only make the checks wait longer, never flip them.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, sleepUntil, startChild, until, type RunningChild } from './helpers/child-processes.js';
import { BROWSER_ACCEPTS } from './helpers/browsers.js';
import { decode } from './helpers/images.js';
import { startFailingStorage, type FailingStorage } from './helpers/failing-storage.js';
import { findNginx, PLAIN_VARY_CACHE, renderTemplate, startNginx, type RunningNginx } from './helpers/nginx.js';
import { rawGet, type RawResponse } from './helpers/origin.js';
import { PROJECT_ROOT, SAMPLES } from '../support/paths.js';
import { requireSystem } from '../support/system.js';
import { startRecordingProxy, type Exchange, type RecordingProxy } from './helpers/recording-proxy.js';

/** Real browsers' image Accept headers (the tests' shared table). */
const accept = (browser: string): string => {
  const row = BROWSER_ACCEPTS.find(([name]) => name === browser);
  assert.ok(row, `no ${browser} in test/helpers/browsers.ts`);
  return row[1];
};
const CHROME = accept('Chrome');
const FIREFOX = accept('Firefox');
const SAFARI_14 = accept('Safari 14');
const SAFARI_13 = accept('Safari 13');

/** What the origin is told to send (ORIGIN_CACHE_CONTROL stays at its default). */
const DEFAULT_CACHE_CONTROL = 'public, max-age=31536000, stale-while-revalidate=86400, stale-if-error=604800';
/** Long enough that the "still cached" check cannot straddle it, however slow the machine. */
const ERROR_MAX_AGE = 10;
const PRESETS = {
  brief: { params: { w: 64 }, overridable: ['fm'], cacheControl: 'public, max-age=1' },
  swr: { params: { w: 72 }, overridable: ['fm'], cacheControl: 'public, max-age=1, stale-while-revalidate=600' },
  sie: { params: { w: 80 }, overridable: ['fm'], cacheControl: 'public, max-age=1, stale-if-error=600' },
  sie1: { params: { w: 88 }, overridable: ['fm'], cacheControl: 'public, max-age=1, stale-if-error=1' },
};

/** An answer through the cache, and when it was complete. */
interface Fetched extends RawResponse {
  readonly doneAt: number;
}

/** nginx with a throwaway state folder, on a config rendered for it. */
async function startCache(binary: string, root: string, name: string, template: string, upstreamPort: number): Promise<RunningNginx> {
  const stateDir = path.join(root, name);
  await mkdir(stateDir, { recursive: true });
  const port = await freePort();
  const config = renderTemplate(template, {
    CDN_LISTEN: `127.0.0.1:${port}`,
    CDN_STATE_DIR: stateDir,
    IMAGE_ORIGIN: `127.0.0.1:${upstreamPort}`,
  });
  const configFile = path.join(stateDir, 'nginx.conf');
  await writeFile(configFile, config);
  return startNginx(binary, configFile, stateDir, port);
}

describe('behind a real HTTP cache (nginx proxy_cache running deploy/cdn/nginx.conf)', requireSystem({ program: 'nginx', debianPackage: 'nginx' }), () => {
  let root: string | undefined;
  let storage: FailingStorage | undefined;
  let origin: RunningChild | undefined;
  let recorder: RecordingProxy | undefined;
  let cdn: RunningNginx | undefined;
  /** A cache that honours Vary and knows nothing of the token (for the forged-token check). */
  let plainCache: RunningNginx | undefined;
  let originUrl = '';

  /** GET through the reference cache. */
  async function viaCdn(pathAndQuery: string, headers: Record<string, string> = {}): Promise<Fetched> {
    const response = await rawGet(cdn!.url, pathAndQuery, headers);
    return { ...response, doneAt: Date.now() };
  }
  const reached = (pathAndQuery: string): Exchange[] => recorder!.exchanges.filter((e) => e.url === pathAndQuery);
  const cacheStatus = (r: RawResponse) => r.headers['x-cache-status'];

  /** Entries with short lifetimes, stored up front so their expiry overlaps the other tests. */
  const stored: Record<'brief' | 'swr' | 'sie' | 'sie1' | 'flaky', Fetched | undefined> = {
    brief: undefined,
    swr: undefined,
    sie: undefined,
    sie1: undefined,
    flaky: undefined,
  };
  const URLS = {
    brief: '/evening-glow.jpg?preset=brief',
    swr: '/evening-glow.jpg?preset=swr',
    sie: '/evening-glow.jpg?preset=sie',
    sie1: '/evening-glow.jpg?preset=sie1',
    flaky: '/flaky.jpg?preset=brief',
  } as const;

  before(async () => {
    const nginx = findNginx(); // on PATH (requireSystem above): checks its version
    root = await mkdtemp(path.join(os.tmpdir(), 'cdn-cache-'));
    const objects = path.join(root, 'storage');
    await mkdir(objects);
    await copyFile(path.join(SAMPLES, 'evening-glow.jpg'), path.join(objects, 'evening-glow.jpg'));
    await copyFile(path.join(SAMPLES, 'evening-glow.jpg'), path.join(objects, 'flaky.jpg'));
    const presetsFile = path.join(root, 'presets.json');
    await writeFile(presetsFile, JSON.stringify({ presets: PRESETS }));
    storage = await startFailingStorage(objects);

    const originPort = await freePort();
    originUrl = `http://127.0.0.1:${originPort}`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ORIGIN_|S3_|AWS_)/.test(k)));
    origin = startChild('origin', process.execPath, ['dist/origin/main.js'], {
      cwd: PROJECT_ROOT,
      env: {
        ...env,
        HOST: '127.0.0.1',
        PORT: String(originPort),
        // No metrics listener: its default port may be held by another run on this machine.
        ORIGIN_METRICS_PORT: 'off',
        LOG_LEVEL: 'warn',
        ORIGIN_SOURCE: `${storage.origin}/`,
        ORIGIN_HTTP_ALLOW_PRIVATE: 'true',
        ORIGIN_ORIGINALS_CACHE_BYTES: '0',
        ORIGIN_VARIANTS_CACHE_BYTES: '0',
        ORIGIN_ERROR_CACHE_CONTROL: `public, max-age=${ERROR_MAX_AGE}`,
        ORIGIN_PRESETS: presetsFile,
      },
    });
    await until('the origin to be ready', async () => ((await rawGet(originUrl, '/readyz')).status === 200 ? true : undefined), { child: origin });
    recorder = await startRecordingProxy(originPort);

    const template = await readFile(path.join(PROJECT_ROOT, 'deploy/cdn/nginx.conf'), 'utf8');
    cdn = await startCache(nginx.binary, root, 'cdn', template, recorder.port);
    plainCache = await startCache(nginx.binary, root, 'plain', PLAIN_VARY_CACHE, recorder.port);

    for (const name of Object.keys(stored) as (keyof typeof stored)[]) {
      const filled = await viaCdn(URLS[name], { accept: CHROME });
      assert.equal(filled.status, 200, `${URLS[name]}: ${filled.body.toString()}`);
      assert.equal(cacheStatus(filled), 'MISS');
      stored[name] = filled;
    }
  });

  after(async () => {
    await plainCache?.stop();
    await cdn?.stop();
    await recorder?.close();
    await origin?.stop('SIGKILL');
    await storage?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('the second request for a variant is a cache hit that never reaches the origin', async () => {
    const url = '/evening-glow.jpg?w=320';
    const first = await viaCdn(url, { accept: CHROME });
    assert.equal(first.status, 200);
    assert.equal(cacheStatus(first), 'MISS');
    assert.equal(first.headers['cache-control'], DEFAULT_CACHE_CONTROL);
    assert.equal(reached(url).length, 1, 'the miss went to the origin once');

    const second = await viaCdn(url, { accept: CHROME });
    assert.equal(cacheStatus(second), 'HIT');
    assert.equal(reached(url).length, 1, 'the hit never reached the origin');
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers.etag, first.headers.etag);
    assert.match(String(second.headers.vary), /(^|, *)Accept(,|$)/, 'browsers still see Vary: Accept');

    // A client revalidating its own copy is answered by the cache too.
    const conditional = await viaCdn(url, { accept: CHROME, 'if-none-match': String(first.headers.etag) });
    assert.equal(conditional.status, 304);
    assert.equal(reached(url).length, 1);
  });

  test('the format token keys the cache: Chrome-like and Safari-like clients each get their format, never the other’s', async () => {
    const url = '/evening-glow.jpg?w=300';
    const clients = [
      { name: 'Chrome', accept: CHROME, token: 'avif', format: 'avif', type: 'image/avif' },
      { name: 'Safari 14', accept: SAFARI_14, token: 'webp', format: 'webp', type: 'image/webp' },
      { name: 'Safari 13', accept: SAFARI_13, token: 'legacy', format: 'jpeg', type: 'image/jpeg' },
    ];
    for (const [i, client] of clients.entries()) {
      const miss = await viaCdn(url, { accept: client.accept });
      assert.equal(cacheStatus(miss), 'MISS', `${client.name}: its own entry`);
      assert.equal(miss.headers['content-type'], client.type, client.name);
      assert.equal((await decode(miss.body)).format, client.format, client.name);
      assert.equal(miss.headers['x-image-format-token'], client.token);
      const forwarded = reached(url)[i];
      assert.equal(forwarded?.headers['x-image-format-token'], client.token, 'the cache sent the origin its token');
    }
    for (const client of clients) {
      const hit = await viaCdn(url, { accept: client.accept });
      assert.equal(cacheStatus(hit), 'HIT', client.name);
      assert.equal((await decode(hit.body)).format, client.format, `${client.name} is never cross-served`);
    }
    // Another browser that spells Accept differently but takes AVIF shares Chrome's entry: the
    // key is the token, not the header's spelling.
    const firefox = await viaCdn(url, { accept: FIREFOX });
    assert.equal(cacheStatus(firefox), 'HIT');
    assert.equal((await decode(firefox.body)).format, 'avif');
    // A client cannot pick another client's entry by sending the token itself.
    const forged = await viaCdn(url, { accept: SAFARI_13, 'x-image-format-token': 'avif' });
    assert.equal(cacheStatus(forged), 'HIT');
    assert.equal((await decode(forged.body)).format, 'jpeg');
    // q=0 refuses AVIF exactly as the origin reads it: the WebP entry.
    const refused = await viaCdn(url, { accept: 'image/avif;q=0, image/webp' });
    assert.equal(cacheStatus(refused), 'HIT');
    assert.equal((await decode(refused.body)).format, 'webp');
    assert.equal(reached(url).length, 3, 'three tokens, three trips to the origin, no more');

    // An explicit format does not vary at all.
    const explicit = await viaCdn('/evening-glow.jpg?w=300&fm=webp', { accept: SAFARI_13 });
    assert.equal(explicit.headers.vary, undefined);
    assert.equal(explicit.headers['x-image-format-token'], undefined);
    assert.equal((await decode(explicit.body)).format, 'webp');
  });

  test('client hints are snapped at the edge: 20 widths from 401 to 420 make one origin request and one entry', async () => {
    const url = '/evening-glow.jpg?w=auto';
    for (let w = 401; w <= 420; w++) {
      const answer = await viaCdn(url, { accept: CHROME, 'sec-ch-width': String(w), width: '9999' });
      assert.equal(answer.status, 200);
      assert.equal((await decode(answer.body)).width, 480);
    }
    assert.equal(reached(url).length, 1);
    assert.equal(reached(url)[0]!.headers['sec-ch-width'], '480', 'the origin sees the snapped width');
    assert.equal(reached(url)[0]!.headers.width, undefined, 'and no legacy hint');
    const viewport = await viaCdn(url, { accept: CHROME, 'sec-ch-viewport-width': '390' });
    assert.equal(cacheStatus(viewport), 'MISS');
    assert.equal(reached(url)[1]!.headers['sec-ch-viewport-width'], '400', 'the viewport’s class representative');
    assert.equal((await decode(viewport.body)).width, 480);
    const plain = await viaCdn('/evening-glow.jpg?w=310', { accept: CHROME, 'sec-ch-width': '401' });
    assert.equal(plain.status, 200);
    assert.equal(reached('/evening-glow.jpg?w=310')[0]!.headers['sec-ch-width'], undefined, 'URLs without auto get no hints');
  });

  test('errors are cached exactly as long as their headers say: a 4xx for its max-age, a 5xx never', async () => {
    const missing = '/no-such-image.jpg?w=100';
    const first = await viaCdn(missing, { accept: CHROME });
    assert.equal(first.status, 404);
    assert.equal(first.headers['cache-control'], `public, max-age=${ERROR_MAX_AGE}`);
    assert.equal(cacheStatus(first), 'MISS');
    const again = await viaCdn(missing, { accept: CHROME });
    assert.equal(again.status, 404);
    assert.equal(cacheStatus(again), 'HIT', 'within max-age the 404 comes from the cache');
    assert.equal(reached(missing).length, 1);

    storage!.failing.add('broken.jpg');
    const broken = '/broken.jpg?w=100';
    for (let i = 1; i <= 2; i++) {
      const answer = await viaCdn(broken, { accept: CHROME });
      assert.equal(answer.status, 502);
      assert.equal(answer.headers['cache-control'], 'no-store');
      assert.equal(cacheStatus(answer), 'MISS');
      assert.equal(reached(broken).length, i, 'every 5xx request goes to the origin: nothing was stored');
    }

    await sleepUntil(first.doneAt + (ERROR_MAX_AGE + 1) * 1000 + 100);
    const expired = await viaCdn(missing, { accept: CHROME });
    assert.equal(expired.status, 404);
    assert.equal(cacheStatus(expired), 'EXPIRED', 'past max-age the cache asks the origin again');
    assert.equal(reached(missing).length, 2);
  });

  test('an expired entry is revalidated with a conditional request, the origin answers 304, the cache keeps its copy', async () => {
    const filled = stored.brief!;
    assert.equal(filled.headers['cache-control'], PRESETS.brief.cacheControl);
    await sleepUntil(filled.doneAt + 2_000 + 100); // max-age=1, plus nginx's whole seconds
    const revalidated = await viaCdn(URLS.brief, { accept: CHROME });
    assert.equal(cacheStatus(revalidated), 'REVALIDATED');
    assert.equal(revalidated.status, 200);
    assert.deepEqual(revalidated.body, filled.body);
    const exchanges = reached(URLS.brief);
    assert.equal(exchanges.length, 2);
    const conditional = exchanges[1]!;
    assert.equal(conditional.headers['if-none-match'], filled.headers.etag, 'the cache sent the ETag it holds');
    assert.equal(conditional.headers['if-modified-since'], filled.headers['last-modified']);
    assert.equal(conditional.status, 304, 'the origin confirmed the copy without sending it again');
  });

  test('within stale-while-revalidate the stale copy is served at once and revalidated behind the scenes', async () => {
    const filled = stored.swr!;
    await sleepUntil(filled.doneAt + 2_000 + 100);
    const stale = await viaCdn(URLS.swr, { accept: CHROME });
    assert.equal(cacheStatus(stale), 'STALE');
    assert.deepEqual(stale.body, filled.body);
    const background = await until('the background revalidation', async () =>
      reached(URLS.swr)[1]?.status !== undefined ? reached(URLS.swr)[1] : undefined,
    );
    assert.equal(background.headers['if-none-match'], filled.headers.etag);
    assert.equal(background.status, 304);
    const fresh = await until('the refreshed entry', async () => {
      const r = await viaCdn(URLS.swr, { accept: CHROME });
      return cacheStatus(r) === 'HIT' ? r : undefined;
    });
    assert.deepEqual(fresh.body, filled.body);
  });

  test('while the origin answers 5xx (its storage is down), an expired entry is served stale', async () => {
    const filled = stored.flaky!;
    storage!.failing.add('flaky.jpg');
    await sleepUntil(filled.doneAt + 2_000 + 100);
    const answer = await viaCdn(URLS.flaky, { accept: CHROME });
    assert.equal(cacheStatus(answer), 'STALE');
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, filled.body);
    assert.equal(reached(URLS.flaky).at(-1)?.status, 502, 'the origin was asked and failed');
  });

  test(
    'a cache that honours Vary but does not set the token is not poisoned by a client sending X-Image-Format-Token',
    async () => {
      const url = '/evening-glow.jpg?w=200';
      const forged = await rawGet(plainCache!.url, url, { accept: SAFARI_13, 'x-image-format-token': 'avif' });
      assert.equal(forged.status, 200);
      const genuine = await rawGet(plainCache!.url, url, { accept: SAFARI_13 });
      assert.equal((await decode(genuine.body)).format, 'jpeg', 'Safari 13 must never be served AVIF');
    },
  );

  test('with the origin stopped, expired entries are served stale within stale-if-error and not after it', async () => {
    const fresh = await viaCdn('/evening-glow.jpg?w=320', { accept: CHROME }); // stored now if not yet
    assert.equal(fresh.status, 200);

    const stop = await origin!.stop('SIGTERM');
    assert.equal(stop.code, 0, 'the origin drains and exits 0 on SIGTERM');
    await recorder!.close(); // the cache's upstream address now refuses connections
    const before = recorder!.exchanges.length;

    const sie = stored.sie!; // max-age=1, stale-if-error=600: well inside its window
    const sie1 = stored.sie1!; // max-age=1, stale-if-error=1: certainly past it
    await sleepUntil(Math.max(sie.doneAt + 2_000, sie1.doneAt + 3_000) + 100);

    const stale = await viaCdn(URLS.sie, { accept: CHROME });
    assert.equal(stale.status, 200);
    assert.equal(cacheStatus(stale), 'STALE');
    assert.deepEqual(stale.body, sie.body);

    const pastWindow = await viaCdn(URLS.sie1, { accept: CHROME });
    assert.equal(pastWindow.status, 502, 'past stale-if-error the error shows');

    const stillFresh = await viaCdn('/evening-glow.jpg?w=320', { accept: CHROME });
    assert.equal(cacheStatus(stillFresh), 'HIT', 'fresh entries need no origin at all');
    assert.equal(recorder!.exchanges.length, before, 'nothing reached the recorder: the origin was gone');
    assert.match(await cdn!.errorLog(), /Connection refused/);
  });
});
