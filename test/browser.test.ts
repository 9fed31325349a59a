/**
 * A real browser: headless Chromium from Debian (`/usr/bin/chromium`), driven by playwright-core,
 * loads a page served from one loopback origin whose images come from the image origin on another
 * (so every hint has to be delegated, as in production). The page is built with the package's own
 * URL builder. At DPR 1 and 2 and two viewport widths, it checks for every image that it decoded,
 * which srcset candidate was chosen, that AVIF was served, that the hints arrived and changed the
 * width, that the portrait is upright and the alpha kept, and that the console stayed clean.
 * It also shows the README's client-hint instructions working: `Accept-CH` + `Permissions-Policy`
 * (and that `Permissions-Policy` alone delivers nothing), the Delegate-CH meta, `sizes` for
 * `Sec-CH-Width`, and Critical-CH. A screenshot of each run is kept in test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Response as PageResponse } from 'playwright-core';
import sharp from 'sharp';
import { buildImageUrl, buildSrcset } from '../origin/url-builder.js';
import { decode, meanColour } from './helpers/images.js';
import { listenOnLoopback } from './helpers/loopback-server.js';
import { startOrigin, type RunningOrigin } from './helpers/origin.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/recording-proxy.js';
import { CORPUS, PROJECT_ROOT, SAMPLES } from '../support/paths.js';
import { requireSystem } from '../support/system.js';

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts', 'browser');

/** The page's own headers for each way of delegating hints (README "Client hints"). */
type Delegation = 'headers' | 'meta' | 'policy-only';

interface Page {
  readonly html: string;
  readonly headers: Record<string, string>;
}

function buildPage(imageHost: string, delegation: Delegation): Page {
  const opts = { baseUrl: imageHost };
  const hints = `sec-ch-dpr ${imageHost}; sec-ch-width ${imageHost}; sec-ch-viewport-width ${imageHost}`;
  const policy = `ch-dpr=(self "${imageHost}"), ch-width=(self "${imageHost}"), ch-viewport-width=(self "${imageHost}")`;
  const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };
  if (delegation === 'headers') {
    headers['accept-ch'] = 'Sec-CH-DPR, Sec-CH-Width, Sec-CH-Viewport-Width';
    headers['permissions-policy'] = policy;
    headers['critical-ch'] = 'Sec-CH-DPR';
  }
  if (delegation === 'policy-only') headers['permissions-policy'] = policy;
  const meta = delegation === 'meta' ? `<meta http-equiv="Delegate-CH" content="${hints}">` : '';
  const img = (id: string, attrs: string) => `<img id="${id}" ${attrs} alt="">`;
  const html = `<!doctype html><html><head><meta charset="utf-8">${meta}
<meta name="viewport" content="width=device-width"><link rel="icon" href="data:,"><title>image-origin browser test</title>
<style>body{margin:0;background:#f0f} img{display:block;margin:4px}</style></head><body>
${img('srcset', `src="${buildImageUrl('evening-glow.jpg', { w: 320, fm: 'auto' }, opts)}" srcset="${buildSrcset('evening-glow.jpg', { fm: 'auto' }, { widths: [160, 320, 640, 1280] }, opts)}" sizes="160px" width="160"`)}
<picture>
  <source type="image/avif" srcset="${buildImageUrl('evening-glow.jpg', { w: 150, fm: 'avif' }, opts)}">
  <source type="image/webp" srcset="${buildImageUrl('evening-glow.jpg', { w: 150, fm: 'webp' }, opts)}">
  ${img('picture', `src="${buildImageUrl('evening-glow.jpg', { w: 150, fm: 'jpeg' }, opts)}" width="150"`)}
</picture>
${img('hinted', `src="${buildImageUrl('evening-glow.jpg', { w: 'auto', dpr: 'auto' }, opts)}" sizes="200px" style="width:200px"`)}
${img('viewport', `src="${buildImageUrl('evening-glow.jpg', { w: 'auto', h: 60, fit: 'cover' }, opts)}" style="width:100px"`)}
${img('preset', `src="${buildImageUrl('evening-glow.jpg', { preset: 'thumb' }, opts)}" width="100"`)}
${img('sticker', `src="${buildImageUrl('spinner.gif', { w: 64, anim: true }, opts)}" width="64"`)}
${img('portrait', `src="${buildImageUrl('portrait.jpg', { w: 120 }, opts)}" width="120"`)}
${img('alpha', `src="${buildImageUrl('alpha.png', { w: 100 }, opts)}" width="100"`)}
</body></html>`;
  return { html, headers };
}

interface Shown {
  readonly id: string;
  readonly currentSrc: string;
  readonly naturalWidth: number;
  readonly naturalHeight: number;
  readonly complete: boolean;
  /** Where it is on the page, in CSS pixels. */
  readonly box: { readonly left: number; readonly top: number; readonly width: number; readonly height: number };
}

describe('in a real browser (headless Chromium from Debian)', requireSystem({ file: CHROMIUM, debianPackage: 'chromium', what: CHROMIUM }), () => {
  let root: string | undefined;
  let origin: RunningOrigin | undefined;
  let recorder: RecordingProxy | undefined;
  let pageServer: http.Server | undefined;
  let browser: Browser | undefined;
  let imageHost = '';
  let pageHost = '';
  const navigations: { path: string; headers: http.IncomingHttpHeaders }[] = [];

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'browser-'));
    const images = path.join(root, 'images');
    await mkdir(images);
    await copyFile(path.join(SAMPLES, 'evening-glow.jpg'), path.join(images, 'evening-glow.jpg'));
    await copyFile(path.join(CORPUS, 'anim', 'spinner-transparent-12f.gif'), path.join(images, 'spinner.gif'));
    await copyFile(path.join(CORPUS, 'orientation', 'Portrait_6.jpg'), path.join(images, 'portrait.jpg'));
    await copyFile(path.join(CORPUS, 'png', 'gray-alpha.png'), path.join(images, 'alpha.png'));
    origin = await startOrigin({ ORIGIN_SOURCE: `fs:${images}` });
    recorder = await startRecordingProxy(Number(new URL(origin.url).port));
    imageHost = `http://127.0.0.1:${recorder.port}`;
    pageServer = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://page');
      navigations.push({ path: url.pathname, headers: req.headers });
      const delegation = url.pathname.slice(1) as Delegation;
      if (!['headers', 'meta', 'policy-only'].includes(delegation)) return void res.writeHead(404).end();
      const page = buildPage(imageHost, delegation);
      res.writeHead(200, page.headers).end(page.html);
    });
    pageHost = `http://127.0.0.1:${await listenOnLoopback(pageServer)}`;
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => pageServer?.close(resolve));
    await recorder?.close();
    await origin?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Loads one page in a fresh context; returns what each image shows, the bodies served, and the console errors. */
  async function load(delegation: Delegation, dpr: number, width: number) {
    const context = await browser!.newContext({ deviceScaleFactor: dpr, viewport: { width, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())));
    page.on('pageerror', (error) => errors.push(error.message));
    const served = new Map<string, { type: string; body: Buffer }>();
    const pending: Promise<void>[] = [];
    page.on('response', (response: PageResponse) => {
      if (!response.url().startsWith(imageHost)) return;
      pending.push(response.body().then((body) => void served.set(response.url(), { type: response.headers()['content-type'] ?? '', body }), () => undefined));
    });
    const seenBefore = recorder!.exchanges.length;
    const navigated = navigations.length;
    await page.goto(`${pageHost}/${delegation}`, { waitUntil: 'load' });
    const shown = await page.$$eval('img', (imgs) =>
      imgs.map((i) => {
        const r = i.getBoundingClientRect();
        return { id: i.id, currentSrc: i.currentSrc, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, complete: i.complete, box: { left: r.left, top: r.top, width: r.width, height: r.height } };
      }),
    );
    const screenshot = await page.screenshot({ path: path.join(ARTIFACTS, `${delegation}-dpr${dpr}-w${width}.png`), fullPage: true });
    await Promise.all(pending);
    await context.close();
    const byId = new Map<string, Shown>(shown.map((s: Shown) => [s.id, s]));
    const exchanges = recorder!.exchanges.slice(seenBefore);
    return { byId, served, errors, exchanges, screenshot, pageRequests: navigations.slice(navigated) };
  }

  for (const dpr of [1, 2]) {
    for (const width of [600, 800]) {
      test(`DPR ${dpr}, ${width} px wide (Accept-CH + Permissions-Policy on the page)`, async () => {
        const { byId, served, errors, exchanges, screenshot } = await load('headers', dpr, width);
        assert.deepEqual(errors, [], 'no console errors');
        for (const [id, img] of byId) {
          assert.ok(img.complete && img.naturalWidth > 0, `${id} decoded in the browser`);
          assert.ok(served.has(img.currentSrc), `${id}: its bytes were captured`);
        }
        const image = (id: string) => byId.get(id)!;
        const body = (id: string) => served.get(image(id).currentSrc)!;

        // srcset + sizes="160px": the 160w candidate at DPR 1, 320w at DPR 2.
        assert.match(image('srcset').currentSrc, new RegExp(`[?&]w=${160 * dpr}&fm=auto$`));
        assert.equal((await decode(body('srcset').body)).width, 160 * dpr);
        assert.equal(image('srcset').naturalWidth, 160, 'shown at its density: 160 CSS px');
        // fm=auto and <picture>: Chromium gets AVIF.
        assert.equal(body('srcset').type, 'image/avif');
        assert.equal((await decode(body('srcset').body)).format, 'avif');
        assert.match(image('picture').currentSrc, /fm=avif$/, '<picture> chose the AVIF source');
        assert.equal(body('picture').type, 'image/avif');

        // Hints arrived and set the width: Sec-CH-Width = 200 CSS px × DPR, snapped up.
        const hinted = exchanges.find((e) => e.url === new URL(image('hinted').currentSrc).pathname + new URL(image('hinted').currentSrc).search)!;
        assert.equal(hinted.headers['sec-ch-width'], String(200 * dpr), 'Sec-CH-Width arrived (the img has sizes)');
        assert.equal(hinted.headers['sec-ch-dpr'], String(dpr));
        assert.equal(image('hinted').naturalWidth, dpr === 1 ? 320 : 480, 'the hint changed the width');
        assert.equal(body('hinted').type, 'image/avif');
        // No sizes: no Sec-CH-Width, the viewport width decides.
        const viewport = exchanges.find((e) => e.url.includes('h=60'))!;
        assert.equal(viewport.headers['sec-ch-width'], undefined, 'without sizes there is no Sec-CH-Width');
        assert.equal(viewport.headers['sec-ch-viewport-width'], String(width));
        assert.equal(image('viewport').naturalWidth, width === 800 ? 828 : 640, 'the viewport hint set the width');

        // The preset, the animated sticker, the portrait and the alpha PNG.
        assert.equal(image('preset').naturalWidth, 200);
        assert.equal(image('preset').naturalHeight, 200);
        const sticker = await decode(body('sticker').body);
        assert.ok(sticker.pages > 1, `the sticker is still animated (${sticker.pages} frames, ${body('sticker').type})`);
        assert.equal(body('sticker').type, 'image/webp', 'animated: WebP for an AVIF client (README "URL grammar", anim)');
        const portrait = await decode(body('portrait').body);
        assert.ok(portrait.height > portrait.width, 'the EXIF-rotated portrait is served upright');
        assert.ok(portrait.orientation === undefined || portrait.orientation === 1);
        assert.ok(image('portrait').naturalHeight > image('portrait').naturalWidth, 'and shown upright');
        const alpha = await decode(body('alpha').body);
        assert.ok(alpha.hasAlpha, 'the alpha channel is kept');
        const { data, info } = await sharp(body('alpha').body).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
        let transparent = 0;
        for (let i = info.channels - 1; i < data.length; i += info.channels) if (data[i]! < 255) transparent++;
        assert.ok(transparent > 0, 'some pixels are see-through');
        // On screen: the page's magenta shows through the alpha image's transparent corner.
        const corner = image('alpha').box;
        const [r, g, b] = await meanColour(screenshot, { left: Math.round(corner.left * dpr), top: Math.round(corner.top * dpr), width: 2 * dpr, height: 2 * dpr });
        assert.ok(r > 200 && g < 60 && b > 200, `the background shows through the alpha PNG (rgb ${r},${g},${b})`);
        assert.ok((await sharp(screenshot).metadata()).width === width * dpr, 'the screenshot is the device size');
      });
    }
  }

  test('the Delegate-CH meta with all three hints delivers them too', async () => {
    const { byId, errors, exchanges } = await load('meta', 2, 800);
    assert.deepEqual(errors, []);
    const hinted = exchanges.find((e) => e.url.includes('w=auto&dpr=auto'))!;
    assert.equal(hinted.headers['sec-ch-width'], '400');
    assert.equal(hinted.headers['sec-ch-dpr'], '2');
    assert.equal(exchanges.find((e) => e.url.includes('h=60'))!.headers['sec-ch-viewport-width'], '800');
    assert.equal(byId.get('hinted')!.naturalWidth, 480);
  });

  test('Permissions-Policy alone delivers no hints to the image host', async () => {
    const { byId, exchanges } = await load('policy-only', 2, 800);
    const hinted = exchanges.find((e) => e.url.includes('w=auto&dpr=auto'))!;
    assert.equal(hinted.headers['sec-ch-width'], undefined);
    assert.equal(hinted.headers['sec-ch-dpr'], undefined);
    assert.equal(byId.get('hinted')!.naturalWidth, 640, 'the origin fell back to 640 CSS px at DPR 1');
  });

  test('Critical-CH: the first navigation is retried with Sec-CH-DPR', async () => {
    const { pageRequests } = await load('headers', 2, 800);
    const own = pageRequests.filter((r) => r.path === '/headers');
    assert.equal(own.length, 2, 'a fresh browser asks twice: without the hint, then with it');
    assert.equal(own[0]!.headers['sec-ch-dpr'], undefined);
    assert.match(String(own[1]!.headers['sec-ch-dpr']), /^\d/, 'the page that rendered had Sec-CH-DPR in its own request');
  });
});
