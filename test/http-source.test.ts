import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { LookupAddress } from 'node:dns';
import type http from 'node:http';
import type { FetchConfig } from '../origin/config.js';
import { createHttpSource, isUnderBase, keyUrl } from '../origin/sources/http-source.js';
import { AddressRefusedError, guardedLookup, isPublicAddress } from '../origin/sources/address-guard.js';
import type { ImageSource, SourceKey } from '../origin/sources/source.js';
import {
  NotFoundError,
  SourceTimeoutError,
  SourceTooLargeError,
  SourceUnavailableError,
} from '../origin/errors.js';
import { startLoopbackServer, type LoopbackServer } from './helpers/loopback-server.js';

const key = (k: string): SourceKey => k as SourceKey;

const FETCH: FetchConfig = {
  maxBytes: 1024,
  connectTimeoutMs: 2_000,
  // Long enough never to fire by accident; the timeout tests use their own short values.
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  totalTimeoutMs: 60_000,
  maxConnections: 4,
};

const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';

/** One loopback server whose behaviour is chosen by the request path. */
function route(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = (req.url ?? '').split('?')[0] ?? '';
  const step = /^\/base\/hop(\d)$/.exec(path);
  switch (true) {
    case path === '/base/ok.jpg':
      res.writeHead(200, { etag: '"v1"', 'last-modified': LAST_MODIFIED, 'content-length': '5' });
      return void res.end(req.method === 'HEAD' ? undefined : 'hello');
    case path === '/base/no-etag.jpg':
      res.writeHead(200, { 'last-modified': LAST_MODIFIED, 'content-length': '3' });
      return void res.end(req.method === 'HEAD' ? undefined : 'abc');
    case path === '/base/chunked-no-etag.jpg':
      res.writeHead(200, { 'last-modified': LAST_MODIFIED });
      res.write('ab');
      return void res.end('cd');
    case path === '/base/missing.jpg':
      res.writeHead(404);
      return void res.end('not here');
    case path === '/base/gone.jpg':
      res.writeHead(410);
      return void res.end();
    case path === '/base/forbidden.jpg':
      res.writeHead(403);
      return void res.end('no');
    case path === '/base/teapot.jpg':
      res.writeHead(418);
      return void res.end();
    case path === '/base/broken.jpg':
      res.writeHead(500);
      return void res.end('oops');
    case path === '/base/busy.jpg':
      res.writeHead(503, { 'retry-after': '7' });
      return void res.end('later');
    case path === '/base/drip.jpg': {
      res.writeHead(200);
      const timer = setInterval(() => res.write('x'), 20);
      return void res.once('close', () => clearInterval(timer));
    }
    case path.startsWith('/base/stall-headers'):
      return; // never answers
    case path === '/base/stall-body.jpg':
      res.writeHead(200, { 'content-length': '100' });
      return void res.write('x'); // and then nothing
    case path === '/base/reset.jpg':
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial', () => req.socket.resetAndDestroy());
      return;
    case path === '/base/huge-declared.jpg':
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      return void res.write('x'); // the rest never comes: a reader that waits would time out
    case path === '/base/huge-chunked.jpg': {
      res.writeHead(200);
      const chunk = Buffer.alloc(512, 1);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      return pump();
    }
    case path === '/base/redirect-inside.jpg':
      res.writeHead(302, { location: '/base/sub/ok-target.jpg' });
      return void res.end('moved');
    case path === '/base/redirect-relative.jpg':
      res.writeHead(301, { location: 'ok.jpg' });
      return void res.end();
    case path === '/base/sub/ok-target.jpg':
      res.writeHead(200, { etag: '"target"' });
      return void res.end(req.method === 'HEAD' ? undefined : 'target');
    case path === '/base/redirect-outside-path.jpg':
      res.writeHead(302, { location: '/elsewhere/ok.jpg' });
      return void res.end();
    case path === '/base/redirect-dotdot.jpg':
      res.writeHead(302, { location: '/base/../secret.jpg' });
      return void res.end();
    case path === '/base/redirect-prefix-lookalike.jpg':
      res.writeHead(302, { location: '/basement/ok.jpg' });
      return void res.end();
    case path === '/base/redirect-other-port.jpg':
      res.writeHead(302, { location: `${otherServer.origin}/base/ok.jpg` });
      return void res.end();
    case step !== null: {
      // hop3 → hop2 → hop1 → hop0 (200): n redirects before the answer.
      const n = Number(step?.[1]);
      if (n === 0) {
        res.writeHead(200, { etag: '"end"' });
        return void res.end('end');
      }
      res.writeHead(307, { location: `/base/hop${n - 1}` });
      return void res.end();
    }
    default:
      // Echo: lets the encoding tests see exactly which path arrived.
      res.writeHead(200, { etag: '"echo"' });
      return void res.end(req.method === 'HEAD' ? undefined : req.url);
  }
}

let server: LoopbackServer;
let otherServer: LoopbackServer;
const sources: ImageSource[] = [];

function source(base = `${server.origin}/base/`, fetch: Partial<FetchConfig> = {}, allowPrivateAddresses = true): ImageSource {
  const created = createHttpSource({ kind: 'http', baseUrl: base, allowPrivateAddresses }, { ...FETCH, ...fetch });
  sources.push(created);
  return created;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
}

before(async () => {
  server = await startLoopbackServer(route);
  otherServer = await startLoopbackServer((_req, res) => res.end('other'));
});

after(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await server.close();
  await otherServer.close();
});

describe('keyUrl', () => {
  const base = new URL('https://img.example/base/');
  test('percent-encodes each segment so ?, #, % and spaces stay in the path', () => {
    assert.equal(keyUrl(base, 'a?b/c#d/e%f g.jpg').href, 'https://img.example/base/a%3Fb/c%23d/e%25f%20g.jpg');
    assert.equal(keyUrl(base, 'été/日本.jpg').href, 'https://img.example/base/%C3%A9t%C3%A9/%E6%97%A5%E6%9C%AC.jpg');
  });
  test('an encoded dot-dot stays a literal segment', () => {
    assert.equal(keyUrl(base, '%2e%2e/x.jpg').href, 'https://img.example/base/%252e%252e/x.jpg');
  });
  test('refuses a key that would resolve outside the base', () => {
    assert.throws(() => keyUrl(base, '../x.jpg'), NotFoundError);
  });
});

describe('isUnderBase', () => {
  const base = new URL('http://127.0.0.1:8080/base/');
  test('same origin and under the base path', () => {
    assert.equal(isUnderBase(base, new URL('http://127.0.0.1:8080/base/a/b.jpg')), true);
  });
  test('other port, host, scheme, or path', () => {
    assert.equal(isUnderBase(base, new URL('http://127.0.0.1:8081/base/a.jpg')), false);
    assert.equal(isUnderBase(base, new URL('http://localhost:8080/base/a.jpg')), false);
    assert.equal(isUnderBase(base, new URL('https://127.0.0.1:8080/base/a.jpg')), false);
    assert.equal(isUnderBase(base, new URL('http://127.0.0.1:8080/basement/a.jpg')), false);
    assert.equal(isUnderBase(base, new URL('http://127.0.0.1:8080/base/../x.jpg')), false);
  });
});

describe('HTTP source: success', () => {
  test('fetch returns bytes, ETag version and Last-Modified', async () => {
    const object = await source().fetch(key('ok.jpg'));
    assert.equal(object.bytes.toString(), 'hello');
    assert.equal(object.version, '"v1"');
    assert.deepEqual(object.lastModified, new Date(LAST_MODIFIED));
  });

  test('stat sends HEAD and reads the same version', async () => {
    const before = server.requests.length;
    const stat = await source().stat(key('ok.jpg'));
    assert.equal(stat.version, '"v1"');
    assert.deepEqual(stat.lastModified, new Date(LAST_MODIFIED));
    assert.deepEqual(
      server.requests.slice(before).map((r) => `${r.method} ${r.url}`),
      ['HEAD /base/ok.jpg'],
    );
  });

  test('without ETag the version is Last-Modified and length, the same for GET and HEAD', async () => {
    const src = source();
    const object = await src.fetch(key('no-etag.jpg'));
    assert.equal(object.version, `${LAST_MODIFIED}|3`);
    assert.equal((await src.stat(key('no-etag.jpg'))).version, object.version);
    assert.equal((await src.fetch(key('chunked-no-etag.jpg'))).version, `${LAST_MODIFIED}|4`);
  });

  test('description names the base URL', () => {
    assert.equal(source().description, `http:${server.origin}/base/`);
  });
});

describe('HTTP source: key encoding', () => {
  const cases: Array<[string, string]> = [
    ['dir/a?b.jpg', '/base/dir/a%3Fb.jpg'],
    ['a#b.jpg', '/base/a%23b.jpg'],
    ['100%.jpg', '/base/100%25.jpg'],
    ['my pic.jpg', '/base/my%20pic.jpg'],
    ['été/日本.jpg', '/base/%C3%A9t%C3%A9/%E6%97%A5%E6%9C%AC.jpg'],
    ['a+b&c=d.jpg', '/base/a%2Bb%26c%3Dd.jpg'],
  ];
  for (const [k, expected] of cases) {
    test(`${JSON.stringify(k)} arrives as ${expected}`, async () => {
      const object = await source().fetch(key(k));
      assert.equal(object.bytes.toString(), expected);
      assert.equal(decodeURIComponent(expected.slice('/base/'.length)), k);
    });
  }
});

describe('HTTP source: status mapping', () => {
  test('404 and 410 are NotFoundError', async () => {
    for (const k of ['missing.jpg', 'gone.jpg']) {
      const error = await rejection(source().fetch(key(k)));
      assert.ok(error instanceof NotFoundError, `${k}: ${String(error)}`);
      assert.equal(error.status, 404);
    }
    assert.ok((await rejection(source().stat(key('missing.jpg')))) instanceof NotFoundError);
  });

  test('403 is a 502 configuration error', async () => {
    const error = await rejection(source().fetch(key('forbidden.jpg')));
    assert.ok(error instanceof SourceUnavailableError);
    assert.equal(error.status, 502);
    assert.equal(error.isConfigurationError, true);
  });

  test('500 is a plain 502', async () => {
    const error = await rejection(source().fetch(key('broken.jpg')));
    assert.ok(error instanceof SourceUnavailableError);
    assert.equal(error.isConfigurationError, false);
  });

  test('503 with Retry-After is a 502 that asks for a back-off of that long', async () => {
    for (const error of [await rejection(source().fetch(key('busy.jpg'))), await rejection(source().stat(key('busy.jpg')))]) {
      assert.ok(error instanceof SourceUnavailableError, String(error));
      assert.equal(error.throttled, true);
      assert.equal(error.retryAfterMs, 7_000);
    }
    const plain = await rejection(source().fetch(key('broken.jpg')));
    assert.ok(plain instanceof SourceUnavailableError && !plain.throttled);
  });

  test('an unexpected status (418) is a 502', async () => {
    const error = await rejection(source().fetch(key('teapot.jpg')));
    assert.ok(error instanceof SourceUnavailableError);
    assert.match(error.message, /418/);
  });
});

describe('HTTP source: network failures', () => {
  test('no headers within headersTimeout is a 504', async () => {
    const error = await rejection(source(undefined, { headersTimeoutMs: 100 }).fetch(key('stall-headers.jpg')));
    assert.ok(error instanceof SourceTimeoutError, String(error));
    assert.equal(error.status, 504);
    assert.equal((error.cause as { code?: string }).code, 'UND_ERR_HEADERS_TIMEOUT');
  });

  test('a body that stalls past bodyTimeout is a 504', async () => {
    const error = await rejection(source(undefined, { bodyTimeoutMs: 100 }).fetch(key('stall-body.jpg')));
    assert.ok(error instanceof SourceTimeoutError, String(error));
    assert.equal((error.cause as { code?: string }).code, 'UND_ERR_BODY_TIMEOUT');
  });

  test('a body dripped within bodyTimeout but never finished is a 504 at totalTimeout', async () => {
    const error = await rejection(source(undefined, { bodyTimeoutMs: 1_000, totalTimeoutMs: 300 }).fetch(key('drip.jpg')));
    assert.ok(error instanceof SourceTimeoutError, String(error));
    assert.match(error.message, /within 300 ms/);
  });

  test('a connection reset mid-body is a 502', async () => {
    const error = await rejection(source().fetch(key('reset.jpg')));
    assert.ok(error instanceof SourceUnavailableError, String(error));
    assert.equal(error.isConfigurationError, false);
  });

  test('a refused connection is a 502', async () => {
    const closed = await startLoopbackServer(() => undefined);
    const base = `${closed.origin}/base/`;
    await closed.close();
    const error = await rejection(source(base).fetch(key('ok.jpg')));
    assert.ok(error instanceof SourceUnavailableError, String(error));
    assert.equal((error.cause as { code?: string }).code, 'ECONNREFUSED');
  });

  test('a caller abort stays an abort', async () => {
    const controller = new AbortController();
    // The server layer may well abort with the client's own socket error as reason: that must
    // not be mistaken for the storage resetting (which would be a 502).
    const reason = Object.assign(new Error('client went away'), { code: 'ECONNRESET' });
    const pending = source().fetch(key('stall-headers-abort.jpg'), controller.signal);
    // Abort once the request is actually waiting on the server.
    while (!server.requests.some((r) => r.url === '/base/stall-headers-abort.jpg')) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    controller.abort(reason);
    assert.equal(await rejection(pending), reason);
  });
});

describe('HTTP source: size limit', () => {
  test('a Content-Length above the maximum is a 413 without reading the body', async () => {
    // The body never completes; only refusing on the header can answer before bodyTimeout.
    const error = await rejection(source().fetch(key('huge-declared.jpg')));
    assert.ok(error instanceof SourceTooLargeError, String(error));
    assert.equal(error.status, 413);
  });

  test('a chunked body growing past the maximum is a 413', async () => {
    const error = await rejection(source().fetch(key('huge-chunked.jpg')));
    assert.ok(error instanceof SourceTooLargeError, String(error));
  });
});

describe('HTTP source: redirects', () => {
  test('follows a same-origin redirect under the base', async () => {
    const object = await source().fetch(key('redirect-inside.jpg'));
    assert.equal(object.bytes.toString(), 'target');
    assert.equal(object.version, '"target"');
  });

  test('follows a relative redirect, also for HEAD', async () => {
    assert.equal((await source().fetch(key('redirect-relative.jpg'))).bytes.toString(), 'hello');
    assert.equal((await source().stat(key('redirect-relative.jpg'))).version, '"v1"');
  });

  test('follows up to three redirects', async () => {
    assert.equal((await source().fetch(key('hop3'))).bytes.toString(), 'end');
  });

  test('refuses a fourth redirect', async () => {
    const error = await rejection(source().fetch(key('hop4')));
    assert.ok(error instanceof SourceUnavailableError);
    assert.equal(error.code, 'SOURCE_REDIRECT_REFUSED');
  });

  for (const k of ['redirect-outside-path.jpg', 'redirect-dotdot.jpg', 'redirect-prefix-lookalike.jpg']) {
    test(`refuses ${k}`, async () => {
      const before = server.requests.length;
      const error = await rejection(source().fetch(key(k)));
      assert.ok(error instanceof SourceUnavailableError, String(error));
      assert.equal(error.status, 502);
      assert.equal(error.code, 'SOURCE_REDIRECT_REFUSED');
      assert.equal(server.requests.length - before, 1, 'the target must not be requested');
    });
  }

  test('refuses a redirect to another port and never contacts it', async () => {
    const error = await rejection(source().fetch(key('redirect-other-port.jpg')));
    assert.ok(error instanceof SourceUnavailableError);
    assert.equal(error.code, 'SOURCE_REDIRECT_REFUSED');
    assert.equal(otherServer.requests.length, 0);
  });
});

describe('address guard', () => {
  test('isPublicAddress accepts public unicast only', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
      assert.equal(isPublicAddress(ip), true, ip);
    }
    const refused = [
      '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
      '224.0.0.1', '255.255.255.255', '192.0.2.1', '::1', '[::1]', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1',
      '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::7f00:1', 'ff02::1', '2001:db8::1', 'localhost', '',
    ];
    for (const ip of refused) assert.equal(isPublicAddress(ip), false, ip);
  });

  test('guardedLookup refuses names resolving to loopback, in both callback forms', async () => {
    for (const all of [false, true]) {
      const error = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
        guardedLookup('localhost', { all }, (err) => resolve(err)),
      );
      assert.ok(error instanceof AddressRefusedError, `all=${all}: ${String(error)}`);
      assert.match(error.message, /ORIGIN_HTTP_ALLOW_PRIVATE/);
    }
  });

  test('guardedLookup passes public IP literals through in the requested form', async () => {
    const single = await new Promise<[unknown, string | LookupAddress[], number | undefined]>((resolve) =>
      guardedLookup('8.8.8.8', {}, (err, address, family) => resolve([err, address, family])),
    );
    assert.deepEqual(single, [null, '8.8.8.8', 4]);
    const all = await new Promise<string | LookupAddress[]>((resolve) =>
      guardedLookup('8.8.8.8', { all: true }, (_err, addresses) => resolve(addresses)),
    );
    assert.deepEqual(all, [{ address: '8.8.8.8', family: 4 }]);
  });

  test('a base on localhost is refused at connect with a 502 configuration error', async () => {
    const before = server.requests.length;
    const src = source(`http://localhost:${server.port}/base/`, {}, false);
    const error = await rejection(src.fetch(key('ok.jpg')));
    assert.ok(error instanceof SourceUnavailableError, String(error));
    assert.equal(error.status, 502);
    assert.equal(error.isConfigurationError, true);
    assert.equal(error.code, 'SOURCE_ADDRESS_REFUSED');
    assert.ok((await rejection(src.stat(key('ok.jpg')))) instanceof SourceUnavailableError);
    assert.equal(server.requests.length, before, 'no request may reach the server');
  });

  test('an IP-literal private base is refused at construction', () => {
    for (const base of [`http://127.0.0.1:${server.port}/base/`, 'http://[::1]:8080/', 'http://10.0.0.1/', 'http://2130706433/']) {
      assert.throws(
        () => createHttpSource({ kind: 'http', baseUrl: base, allowPrivateAddresses: false }, FETCH),
        /ORIGIN_HTTP_ALLOW_PRIVATE/,
        base,
      );
    }
  });

  test('allowPrivateAddresses lets localhost and 127.0.0.1 through', async () => {
    for (const host of ['localhost', '127.0.0.1']) {
      const src = source(`http://${host}:${server.port}/base/`, {}, true);
      assert.equal((await src.fetch(key('ok.jpg'))).bytes.toString(), 'hello');
    }
  });
});

describe('HTTP source: connection reuse', () => {
  test('sequential GETs reuse one keep-alive connection', async () => {
    const sockets = new Set<unknown>();
    const counting = await startLoopbackServer((req, res) => {
      sockets.add(req.socket);
      res.end('x');
    });
    try {
      // One connection allowed: a pool that closed sockets after each answer would open four.
      const src = source(`${counting.origin}/`, { maxConnections: 1 });
      for (let i = 0; i < 4; i++) await src.fetch(key(`k${i}.jpg`));
      assert.equal(counting.requests.length, 4);
      assert.equal(sockets.size, 1);
    } finally {
      await counting.close();
    }
  });

  test('a body refused for size does not leak its connection', async () => {
    let closed!: Promise<unknown>;
    const endless = await startLoopbackServer((_req, res) => {
      closed = once(res, 'close');
      res.writeHead(200, { 'content-length': String(1 << 30) });
      res.write(Buffer.alloc(1));
    });
    try {
      await assert.rejects(source(`${endless.origin}/`).fetch(key('a.jpg')), SourceTooLargeError);
      await closed;
    } finally {
      await endless.close();
    }
  });
});
