/**
 * The generated edge code (origin/edge/) against the origin's own functions. The JavaScript
 * targets run as generated, in node:vm with the platform's entry point (a CloudFront viewer-request
 * event, EdgeRoutine's fetch listener, a Worker's fetch handler), for every Accept string, URL
 * and hint set in the table below. For each case:
 *   - the token the edge sends is the origin's `negotiateFormat` of the client's Accept (a token
 *     the client forged is replaced);
 *   - the origin, reading the headers the edge forwards, resolves w/dpr exactly as it would from
 *     the client's own headers (`resolveHints`), so the edge changes no answer;
 *   - cases with equal cache keys get equal answers (the key holds all the answer depends on), and
 *     a URL without `auto` forwards no hint at all.
 * The regular-expression rules (VCL, nginx) are checked here in JavaScript's engine against the
 * same table; nginx and Varnish run them for real in cdn-cache.test.ts and varnish.test.ts.
 * Finally the committed recipes in deploy/cdn/ must equal the generator's output for the default
 * configuration, and the CLI prints what the generator makes.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import vm from 'node:vm';
import { describe, test } from 'node:test';
import { loadConfig } from '../origin/config.js';
import { EDGE_TARGETS, edgeRulesFor, generateEdge } from '../origin/edge/generate.js';
import { atMost } from '../origin/edge/decimal-regex.js';
import { javascriptCore } from '../origin/edge/javascript-core.js';
import { fillRecipe } from '../origin/edge/recipes.js';
import { acceptRegex, buildEdgeRules, lookUp, type EdgeRules } from '../origin/edge/rules.js';
import { resolveHints, type HintSteps } from '../origin/http/client-hints.js';
import { negotiateFormat } from '../origin/http/negotiate-format.js';
import { createSpecParser } from '../transforms/parse-spec.js';
import type { Preset } from '../presets/preset-registry.js';
import { PROJECT_ROOT } from '../support/paths.js';
import { runToEnd } from './helpers/child-processes.js';
import { BROWSER_ACCEPTS } from './helpers/browsers.js';

const config = loadConfig({});
const steps: HintSteps = config.hints;
const parseSpec = createSpecParser(config.limits);

/** A preset of this test's own that asks for both hints, so preset detection is exercised. */
const hinted: Preset = { name: 'hinted', params: new Map([['w', 'auto'], ['dpr', 'auto']]), overridable: new Set(['fm']) };
const rules: EdgeRules = buildEdgeRules(steps, new Map([['hinted', hinted]]));

const ACCEPTS: readonly string[] = [
  ...BROWSER_ACCEPTS.map(([, accept]) => accept),
  '',
  'image/avif;q=0, image/webp',
  'image/avif;q=0.0,image/webp;q=0.000',
  'image/avif; q=0, image/webp; q=0.5',
  'image/avif;q=0.001',
  'IMAGE/AVIF;Q=0.5',
  'image/avif;level=1;q=0,image/webp',
  'image/avif;q=0;level=1, image/*',
  'image/avif;q=0, image/avif',
  'image/avifx, image/webpx',
  'application/image/avif',
  ' image/webp ;q=1',
  'image/avif;q=',
  'image/webp;q=.5',
  'image/avif;foo=q=1;q=0',
  '*/*;q=0.8, image/webp;q=0',
];

const HINT_SETS: readonly Record<string, string>[] = [
  {},
  ...Array.from({ length: 20 }, (_, i) => ({ 'sec-ch-width': String(401 + i) })),
  { 'sec-ch-width': '160', 'sec-ch-dpr': '2' },
  { 'sec-ch-dpr': '1' },
  { 'sec-ch-dpr': '1.3' },
  { 'sec-ch-dpr': '2.625' },
  { 'sec-ch-dpr': '3.5' },
  { dpr: '2' },
  { 'sec-ch-dpr': 'abc', dpr: '2' },
  { 'sec-ch-viewport-width': '375', 'sec-ch-dpr': '3' },
  { 'sec-ch-viewport-width': '412', 'sec-ch-dpr': '2.625' },
  { 'viewport-width': '1280' },
  { 'sec-ch-viewport-width': '5000' },
  { width: '700' },
  { 'sec-ch-width': '0', 'sec-ch-viewport-width': '390' },
  { 'sec-ch-width': '9999' },
  { 'sec-ch-width': '500', 'save-data': 'on' },
  { 'save-data': ' ON ' },
  { 'sec-ch-width': '-5' },
];

const URLS: readonly string[] = [
  'w=320',
  'w=320&dpr=2',
  'w=auto',
  'dpr=auto&w=200',
  'w=auto&dpr=auto',
  'w=auto&dpr=1.5',
  'w=auto&dpr=3',
  'w=auto&fm=webp',
  'fm=auto&w=auto',
  'preset=hinted',
  'preset=hinted&fm=avif',
];

interface EdgeResult {
  readonly forwarded: Readonly<Record<string, string>>;
  readonly key: string;
}

/** Runs one generated JavaScript target on one request. */
type EdgeRunner = (query: string, headers: Readonly<Record<string, string>>) => Promise<EdgeResult>;

/** The generated core's key (all three targets share the core; the CloudFront one exposes nothing else). */
function coreKey(): (query: string, headers: Readonly<Record<string, string>>) => string {
  const context = vm.createContext({});
  vm.runInContext(javascriptCore(rules), context);
  const edge = context.imageOriginEdge as (h: (n: string) => string | undefined, p: (n: string) => string[]) => { key: string };
  return (query, headers) => edge((n) => headers[n], (n) => new URLSearchParams(query).getAll(n)).key;
}

function cloudfront(code: string): EdgeRunner {
  const context = vm.createContext({});
  vm.runInContext(code, context);
  const handler = context.handler as (event: unknown) => { headers: Record<string, { value: string }> };
  const key = coreKey();
  return async (query, headers) => {
    const querystring: Record<string, { value: string; multiValue?: { value: string }[] }> = {};
    for (const [name, value] of new URLSearchParams(query)) {
      const entry = querystring[name];
      if (entry) entry.multiValue = [...(entry.multiValue ?? [{ value: entry.value }]), { value }];
      else querystring[name] = { value };
    }
    const event = { request: { method: 'GET', uri: '/a.jpg', querystring, headers: Object.fromEntries(Object.entries(headers).map(([n, v]) => [n, { value: v }])) } };
    const request = handler(event);
    return { forwarded: Object.fromEntries(Object.entries(request.headers).map(([n, v]) => [n, v.value])), key: key(query, headers) };
  };
}

/** EdgeRoutine: the fetch listener, with `fetch` standing for the CDN's own back-to-origin fetch. */
function edgeRoutine(code: string): EdgeRunner {
  let listener: ((event: unknown) => void) | undefined;
  let sent: Request | undefined;
  const context = vm.createContext({
    URL,
    Headers,
    Request,
    Response,
    addEventListener: (type: string, fn: (event: unknown) => void) => {
      assert.equal(type, 'fetch');
      listener = fn;
    },
    fetch: async (request: Request) => ((sent = request), new Response('ok')),
  });
  vm.runInContext(code, context);
  const key = coreKey();
  return async (query, headers) => {
    let answered: Promise<Response> | undefined;
    listener!({ request: new Request(`https://img.example.com/a.jpg?${query}`, { headers }), respondWith: (r: Promise<Response>) => (answered = r) });
    await answered;
    return { forwarded: Object.fromEntries(sent!.headers), key: key(query, headers) };
  };
}

/** Worker: the module's fetch handler, with the Cache API and the origin fetch as the runtime's. */
function worker(code: string): EdgeRunner {
  let sent: Request | undefined;
  const keys: string[] = [];
  const context = vm.createContext({
    URL,
    Headers,
    Request,
    Response,
    fetch: async (request: Request) => ((sent = request), new Response('ok', { headers: { 'cache-control': 'public, max-age=60' } })),
    caches: { default: { match: async (r: Request) => (keys.push(r.url), undefined), put: async () => undefined } },
  });
  // The module's default export, evaluated as a script (vm runs scripts; the code is otherwise as generated).
  assert.match(code, /^export default \{/m);
  vm.runInContext(code.replace(/^export default \{/m, 'globalThis.imageOriginWorker = {'), context);
  const handler = context.imageOriginWorker as { fetch(r: Request, env: unknown, ctx: unknown): Promise<Response> };
  return async (query, headers) => {
    await handler.fetch(new Request(`https://img.example.com/a.jpg?${query}`, { headers }), {}, { waitUntil: () => undefined });
    const keyUrl = new URL(keys.at(-1)!);
    return { forwarded: Object.fromEntries(sent!.headers), key: keyUrl.searchParams.get('image-origin-edge-key') ?? '' };
  };
}

const RUNNERS: Record<string, (code: string) => EdgeRunner> = {
  'cloudfront-function': cloudfront,
  'alibaba-edgeroutine': edgeRoutine,
  'cloudflare-worker': worker,
};

const HINT_NAMES = ['sec-ch-dpr', 'dpr', 'sec-ch-width', 'width', 'sec-ch-viewport-width', 'viewport-width', 'save-data'];

/** What the origin makes of a request: its token and its resolved hints. */
function originView(query: string, headers: Readonly<Record<string, string>>) {
  const params = new URLSearchParams(query);
  const presetName = params.get('preset');
  const effective = presetName === 'hinted' ? new URLSearchParams([...hinted.params, ...[...params].filter(([n]) => n !== 'preset')]) : params;
  const spec = parseSpec(effective);
  const read = (name: string) => headers[name.toLowerCase()];
  const { dpr, deviceWidth, saveData } = resolveHints(spec, read, steps);
  // With an explicit format the token changes nothing (the origin sends no Vary then).
  const fm = effective.get('fm');
  const token = fm !== null && fm !== 'auto' ? `fm=${fm}` : (read('x-image-format-token') ?? negotiateFormat(read('accept')));
  return { token, dpr, deviceWidth, saveData: saveData ?? false };
}

describe('generated edge code (JavaScript targets) agrees with the origin', () => {
  for (const target of ['cloudfront-function', 'alibaba-edgeroutine', 'cloudflare-worker'] as const) {
    test(`${target}: token, forwarded hints and cache key for every case in the table`, async () => {
      const run = RUNNERS[target]!(generateEdge(target, rules));
      const byKey = new Map<string, { view: ReturnType<typeof originView>; what: string }>();
      let cases = 0;
      for (const query of URLS) {
        for (const accept of ACCEPTS) {
          for (const hints of HINT_SETS) {
            const client = { ...(accept && { accept }), ...hints, 'x-image-format-token': 'avif' }; // a forged token too
            const { forwarded, key } = await run(query, client);
            const what = `${target} ?${query} ${JSON.stringify(client)}`;
            assert.equal(forwarded['x-image-format-token'], negotiateFormat(accept), `${what}: token`);
            assert.equal(forwarded.accept?.trim(), client.accept?.trim(), `${what}: Accept itself goes on unchanged`);
            const direct = originView(query, { ...client, 'x-image-format-token': negotiateFormat(accept) });
            const viaEdge = originView(query, forwarded);
            assert.deepEqual(viaEdge, direct, `${what}: the origin resolves the same through the edge`);
            const asksHints = /(^|&)(w|dpr)=auto(&|$)/.test(query) || query.startsWith('preset=hinted');
            if (!asksHints) {
              for (const name of HINT_NAMES) assert.equal(forwarded[name], undefined, `${what}: no ${name} for a URL without auto`);
            }
            const seen = byKey.get(`${query}#${key}`);
            if (seen) assert.deepEqual(viaEdge, seen.view, `${what} shares its key with ${seen.what}, so its answer must be equal`);
            else byKey.set(`${query}#${key}`, { view: viaEdge, what });
            cases++;
          }
        }
      }
      assert.ok(cases > 5000, `${cases} cases`);
    });
  }

  test('the CloudFront Function fits CloudFront Functions’ 10 KB size limit', () => {
    assert.ok(Buffer.byteLength(generateEdge('cloudfront-function', edgeRulesFor(config))) <= 10 * 1024);
  });

  test('twenty Sec-CH-Width values from 401 to 420 make one cache key and one origin request', async () => {
    const run = cloudfront(generateEdge('cloudfront-function', rules));
    const keys = new Set<string>();
    const widths = new Set<string>();
    for (let w = 401; w <= 420; w++) {
      const { forwarded, key } = await run('w=auto', { accept: BROWSER_ACCEPTS[0]![1], 'sec-ch-width': String(w) });
      keys.add(key);
      widths.add(forwarded['sec-ch-width']!);
    }
    assert.deepEqual([...keys], ['avif||480||']);
    assert.deepEqual([...widths], ['480']);
  });

  test('viewport classes: the origin makes the same width from the representative at every DPR step', () => {
    for (let viewport = 1; viewport <= 4000; viewport++) {
      const representative = lookUp(rules.viewport, rules.viewportOver, viewport);
      for (const ratio of [1, ...steps.dpr]) {
        const make = (v: number) => resolveHints({ w: 'auto', dpr: ratio } as never, (n) => (n === 'sec-ch-viewport-width' ? String(v) : undefined), steps).deviceWidth;
        assert.equal(make(representative), make(viewport), `viewport ${viewport} → ${representative} at DPR ${ratio}`);
      }
    }
    assert.ok(rules.viewport.length < 60, `${rules.viewport.length} classes`);
  });
});

describe('the regular-expression rules (VCL, nginx) agree with the origin', () => {
  test('Accept → token for every Accept in the table', () => {
    const avif = new RegExp(acceptRegex('image/avif'), 'i');
    const webp = new RegExp(acceptRegex('image/webp'), 'i');
    for (const accept of ACCEPTS) {
      const token = avif.test(accept) ? 'avif' : webp.test(accept) ? 'webp' : 'legacy';
      assert.equal(token, negotiateFormat(accept), JSON.stringify(accept));
    }
  });

  test('the decimal comparisons nginx uses match numeric comparison', () => {
    for (const bound of [1, 1.5, 2, 3, 320, 828, 1080, 3840, 2048 / 3, 1280 / 3]) {
      const re = new RegExp(atMost(bound));
      for (const text of ['1', '1.0', '1.25', '1.5', '1.50', '1.51', '2', '2.625', '3', '3.0001', '0.5', '.5', '319', '320', '320.5', '321', '682', '683', '426', '427', '827', '829', '1080', '3839', '3841', '00400', '12000']) {
        assert.equal(re.test(text), Number(text) <= Math.floor(bound * 1e6) / 1e6, `${text} ≤ ${bound}`);
      }
    }
  });
});

describe('committed recipes are the generator output for the default configuration', () => {
  const defaults = edgeRulesFor(loadConfig({}));
  const WHOLE: Record<string, (typeof EDGE_TARGETS)[number]> = {
    'cloudfront-function.js': 'cloudfront-function',
    'alibaba-edgeroutine.js': 'alibaba-edgeroutine',
    'cloudflare-worker.js': 'cloudflare-worker',
    'fastly.vcl': 'fastly-vcl',
  };
  for (const [file, target] of Object.entries(WHOLE)) {
    test(`deploy/cdn/${file} = image-origin edge --target ${target}`, async () => {
      const committed = await readFile(path.join(PROJECT_ROOT, 'deploy/cdn', file), 'utf8');
      assert.equal(committed, generateEdge(target, defaults), `regenerate: npx image-origin edge --target ${target} > deploy/cdn/${file}`);
    });
  }
  for (const [file, target] of [['nginx.conf', 'nginx'], ['varnish.vcl', 'varnish-vcl']] as const) {
    test(`deploy/cdn/${file}: its generated parts = image-origin edge --target ${target}`, async () => {
      const committed = await readFile(path.join(PROJECT_ROOT, 'deploy/cdn', file), 'utf8');
      assert.equal(committed, fillRecipe(committed, target, defaults), `regenerate: npx image-origin edge --target ${target} --into deploy/cdn/${file}`);
    });
  }

  test('the CLI prints the generator output, from the configuration in its environment', async () => {
    const cli = path.join(PROJECT_ROOT, 'dist/origin/cli.js');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ORIGIN_')));
    const printed = await runToEnd('cli', process.execPath, [cli, 'edge', '--target', 'varnish-vcl'], { env });
    assert.equal(printed, generateEdge('varnish-vcl', defaults));
    const custom = await runToEnd('cli', process.execPath, [cli, 'edge', '--target', 'cloudfront-function'], { env: { ...env, ORIGIN_WIDTH_STEPS: '100,200', ORIGIN_DPR_STEPS: '1,2' } });
    assert.equal(custom, generateEdge('cloudfront-function', edgeRulesFor(loadConfig({ ORIGIN_WIDTH_STEPS: '100,200', ORIGIN_DPR_STEPS: '1,2' }))));
    assert.match(custom, /"width":\[\{"upTo":100,"value":100\},\{"upTo":200,"value":200\}\]/);
    await assert.rejects(runToEnd('cli', process.execPath, [cli, 'edge', '--target', 'akamai'], { env }), /unknown --target "akamai"/);
    await assert.rejects(runToEnd('cli', process.execPath, [cli, 'edge', '--target', 'nginx'], { env: { ...env, ORIGIN_WIDTH_STEPS: '300,200' } }), /ORIGIN_WIDTH_STEPS/);
  });
});

