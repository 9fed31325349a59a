import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import type { FetchConfig, SourceConfig } from '../origin/config.js';
import { createS3Source } from '../origin/sources/s3-source.js';
import { buildS3Request, type S3Target } from '../origin/sources/s3-request.js';
import type { ImageSource, SourceKey } from '../origin/sources/source.js';
import {
  NotFoundError,
  SourceTimeoutError,
  SourceTooLargeError,
  SourceUnavailableError,
} from '../origin/errors.js';
import { startS3rver, type RunningS3rver } from '../support/s3rver.js';
import { startLoopbackServer, type LoopbackServer } from './helpers/loopback-server.js';

const key = (k: string): SourceKey => k as SourceKey;

const FETCH: FetchConfig = {
  maxBytes: 64 * 1024,
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  totalTimeoutMs: 60_000,
  maxConnections: 4,
};

const ODD_KEY = 'photos/my pic+1 été 日本.jpg';
const SECRET = 'sup3r-secret-value';

const sources: ImageSource[] = [];
function track(source: ImageSource): ImageSource {
  sources.push(source);
  return source;
}
after(() => Promise.all(sources.map((s) => s.close())));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
}

function assertConfigurationError(error: unknown): asserts error is SourceUnavailableError {
  assert.ok(error instanceof SourceUnavailableError, String(error));
  assert.equal(error.status, 502);
  assert.equal(error.isConfigurationError, true);
  assert.equal(error.code, 'SOURCE_CONFIGURATION');
}

describe('S3 source against s3rver', () => {
  let s3: RunningS3rver;
  const etags = new Map<string, string>();
  const objects: Record<string, Buffer> = {
    'a/b.jpg': Buffer.from('plain object'),
    [ODD_KEY]: Buffer.from('odd key object'),
    'odd/a&b=c;d,e$@:.jpg': Buffer.from('sub-delims'),
    'originals/inside.jpg': Buffer.from('under the prefix'),
    'outside.jpg': Buffer.from('outside the prefix'),
    'big.bin': Buffer.alloc(FETCH.maxBytes + 1, 7),
  };

  before(async () => {
    s3 = await startS3rver({ bucket: 'images' });
    for (const [k, bytes] of Object.entries(objects)) etags.set(k, await s3.put(k, bytes));
  });
  after(() => s3.close());

  const source = (overrides: Parameters<RunningS3rver['sourceConfig']>[0] = {}, fetch: Partial<FetchConfig> = {}): ImageSource =>
    track(createS3Source(s3.sourceConfig(overrides), { ...FETCH, ...fetch }));

  test('fetch returns the bytes with the ETag as version and Last-Modified', async () => {
    const object = await source().fetch(key('a/b.jpg'));
    assert.deepEqual(object.bytes, objects['a/b.jpg']);
    assert.equal(object.version, etags.get('a/b.jpg'));
    assert.match(object.version, /^"[0-9a-f]{32}"$/);
    assert.ok(object.lastModified instanceof Date && !Number.isNaN(object.lastModified.getTime()));
  });

  test('stat (HEAD) agrees with fetch', async () => {
    const src = source();
    const object = await src.fetch(key('a/b.jpg'));
    const stat = await src.stat(key('a/b.jpg'));
    assert.equal(stat.version, object.version);
    assert.deepEqual(stat.lastModified, object.lastModified);
  });

  test('a missing key is 404 for fetch and stat', async () => {
    const src = source();
    assert.ok((await rejection(src.fetch(key('nope.jpg')))) instanceof NotFoundError);
    assert.ok((await rejection(src.stat(key('nope.jpg')))) instanceof NotFoundError);
  });

  test('an unknown access key id is a 502 configuration error without the secret', async () => {
    const src = source({ credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: SECRET } });
    for (const error of [await rejection(src.fetch(key('a/b.jpg'))), await rejection(src.stat(key('a/b.jpg')))]) {
      assertConfigurationError(error);
      assert.match(error.message, /InvalidAccessKeyId/);
      assert.doesNotMatch(error.message, new RegExp(`${SECRET}|NOT-A-KEY`));
    }
  });

  test('a missing bucket is a 502 configuration error', async () => {
    const src = source({ bucket: 'no-such-bucket' });
    for (const error of [await rejection(src.fetch(key('a/b.jpg'))), await rejection(src.stat(key('a/b.jpg')))]) {
      assertConfigurationError(error);
      assert.match(error.message, /NoSuchBucket/);
    }
  });

  test('keys with spaces, +, non-ASCII and sub-delimiters round-trip', async () => {
    const src = source();
    for (const k of [ODD_KEY, 'odd/a&b=c;d,e$@:.jpg']) {
      const object = await src.fetch(key(k));
      assert.deepEqual(object.bytes, objects[k], k);
      assert.equal((await src.stat(key(k))).version, etags.get(k));
    }
    // s3rver stored the literal key (the helper encodes independently): `+` did not become a space.
    assert.ok((await s3.listKeys()).includes(ODD_KEY));
    assert.ok((await rejection(src.fetch(key('photos/my pic 1 été 日本.jpg')))) instanceof NotFoundError);
  });

  test('the prefix is prepended and bounds what is reachable', async () => {
    const src = source({ prefix: 'originals/' });
    assert.equal(src.description, 's3://images/originals/');
    assert.deepEqual((await src.fetch(key('inside.jpg'))).bytes, objects['originals/inside.jpg']);
    assert.ok((await rejection(src.fetch(key('outside.jpg')))) instanceof NotFoundError);
  });

  test('anonymous requests carry no signature (s3rver serves them)', async () => {
    const { credentials: _omit, ...anonymous } = s3.sourceConfig();
    const src = track(createS3Source(anonymous, FETCH));
    assert.deepEqual((await src.fetch(key('a/b.jpg'))).bytes, objects['a/b.jpg']);
  });

  test('an object above maxBytes is a 413', async () => {
    assert.ok((await rejection(source().fetch(key('big.bin')))) instanceof SourceTooLargeError);
  });

  test('a stopped server is a 502', async () => {
    const gone = await startS3rver({ bucket: 'gone' });
    const config = gone.sourceConfig();
    await gone.close();
    const error = await rejection(track(createS3Source(config, FETCH)).fetch(key('a.jpg')));
    assert.ok(error instanceof SourceUnavailableError, String(error));
    assert.equal(error.isConfigurationError, false);
  });
});

/** A fake S3 endpoint answering each key with a chosen error, to cover what s3rver cannot produce. */
describe('S3 source error mapping (scripted endpoint)', () => {
  let fake: LoopbackServer;
  const xml = (code: string): string =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>m</Message><RequestId>r</RequestId></Error>`;

  /** key → [status, error code] for error answers. */
  const scripted: Record<string, [number, string]> = {
    'access-denied.jpg': [403, 'AccessDenied'],
    'no-such-key.jpg': [404, 'NoSuchKey'],
    'no-such-bucket.jpg': [404, 'NoSuchBucket'],
    'bad-signature.jpg': [403, 'SignatureDoesNotMatch'],
    'expired-token.jpg': [400, 'ExpiredToken'],
    'invalid-token.jpg': [400, 'InvalidToken'],
    'other-403.jpg': [403, 'AllAccessDisabled'],
    'skewed.jpg': [403, 'RequestTimeTooSkewed'],
    'internal.jpg': [500, 'InternalError'],
    'slow-down.jpg': [503, 'SlowDown'],
    'other-region.jpg': [301, 'PermanentRedirect'],
  };

  function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
    const name = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
    const answer = scripted[name];
    if (answer !== undefined) {
      res.writeHead(answer[0], { 'content-type': 'application/xml' });
      // Like S3: HEAD answers have the status but no body.
      return void res.end(req.method === 'HEAD' ? undefined : xml(answer[1]));
    }
    if (name === 'stall.jpg') return;
    if (name === 'reset.jpg') {
      res.writeHead(200, { 'content-length': '100', etag: '"x"' });
      return void res.write('partial', () => req.socket.resetAndDestroy());
    }
    if (name === 'huge-error.jpg') {
      // An endless error body: the code must be read from a bounded prefix.
      res.writeHead(403);
      res.write(xml('SignatureDoesNotMatch'));
      const pump = (): void => {
        while (!res.destroyed && res.write(Buffer.alloc(1024, 0x20)));
        if (!res.destroyed) res.once('drain', pump);
      };
      return pump();
    }
    res.writeHead(200, { etag: '"abc"', 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT', 'content-length': '2' });
    res.end(req.method === 'HEAD' ? undefined : 'ok');
  }

  before(async () => {
    fake = await startLoopbackServer(handler);
  });
  after(() => fake.close());

  const target = (overrides: Partial<S3Target> = {}): Extract<SourceConfig, { kind: 's3' }> => ({
    kind: 's3',
    bucket: 'bucket',
    prefix: 'pre/',
    endpoint: fake.origin,
    region: 'eu-central-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: SECRET, sessionToken: 'session-token' },
    ...overrides,
  });
  const source = (fetch: Partial<FetchConfig> = {}): ImageSource => track(createS3Source(target(), { ...FETCH, ...fetch }));

  test('sends exactly the path it signed, with signature and token headers', async () => {
    const before = fake.requests.length;
    await source().fetch(key('dir/a b+c.jpg'));
    const [seen] = fake.requests.slice(before);
    assert.ok(seen);
    assert.equal(seen.method, 'GET');
    const built = buildS3Request(target(), 'GET', 'dir/a b+c.jpg', { now: new Date() });
    assert.equal(seen.url, built.path);
    assert.equal(seen.url, '/bucket/pre/dir/a%20b%2Bc.jpg');
    assert.equal(seen.headers['host'], `127.0.0.1:${fake.port}`);
    assert.match(seen.headers['authorization'] ?? '', /^AWS4-HMAC-SHA256 Credential=AKIDFAKE\/\d{8}\/eu-central-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
    assert.equal(seen.headers['x-amz-security-token'], 'session-token');
    assert.match(String(seen.headers['x-amz-date']), /^\d{8}T\d{6}Z$/);
  });

  test('AccessDenied and NoSuchKey are 404', async () => {
    for (const k of ['access-denied.jpg', 'no-such-key.jpg']) {
      assert.ok((await rejection(source().fetch(key(k)))) instanceof NotFoundError, k);
      assert.ok((await rejection(source().stat(key(k)))) instanceof NotFoundError, `HEAD ${k}`);
    }
  });

  test('credential, token, bucket and clock problems are 502 configuration errors', async () => {
    for (const k of ['no-such-bucket.jpg', 'bad-signature.jpg', 'expired-token.jpg', 'invalid-token.jpg', 'other-403.jpg', 'skewed.jpg']) {
      const error = await rejection(source().fetch(key(k)));
      assertConfigurationError(error);
      assert.match(error.message, new RegExp(scripted[k]![1]));
      assert.doesNotMatch(error.message, new RegExp(`${SECRET}|session-token`));
    }
  });

  test('a redirect to another region is a configuration error for GET and HEAD alike', async () => {
    assertConfigurationError(await rejection(source().fetch(key('other-region.jpg'))));
    assertConfigurationError(await rejection(source().stat(key('other-region.jpg'))));
  });

  test('SlowDown and 503 answers are marked as throttling, with the Retry-After when sent', async () => {
    for (const error of [await rejection(source().fetch(key('slow-down.jpg'))), await rejection(source().stat(key('slow-down.jpg')))]) {
      assert.ok(error instanceof SourceUnavailableError && error.throttled, String(error));
    }
  });

  test('a failed HEAD is diagnosed with a one-byte ranged GET', async () => {
    const before = fake.requests.length;
    assertConfigurationError(await rejection(source().stat(key('bad-signature.jpg'))));
    const seen = fake.requests.slice(before);
    assert.deepEqual(
      seen.map((r) => [r.method, r.headers['range']]),
      [
        ['HEAD', undefined],
        ['GET', 'bytes=0-0'],
      ],
    );
    assert.match(seen[1]?.headers['authorization'] ?? '', /SignedHeaders=host;range;/);
    assertConfigurationError(await rejection(source().stat(key('expired-token.jpg'))));
  });

  test('storage faults are plain 502s', async () => {
    for (const k of ['internal.jpg', 'slow-down.jpg']) {
      const error = await rejection(source().fetch(key(k)));
      assert.ok(error instanceof SourceUnavailableError, k);
      assert.equal(error.isConfigurationError, false);
      const headError = await rejection(source().stat(key(k)));
      assert.ok(headError instanceof SourceUnavailableError, `HEAD ${k}`);
    }
  });

  test('an endless error body is read only up to a bound', async () => {
    assertConfigurationError(await rejection(source().fetch(key('huge-error.jpg'))));
  });

  test('no headers in time is a 504', async () => {
    const error = await rejection(source({ headersTimeoutMs: 100 }).fetch(key('stall.jpg')));
    assert.ok(error instanceof SourceTimeoutError, String(error));
    assert.equal(error.status, 504);
  });

  test('a reset mid-body is a 502', async () => {
    const error = await rejection(source().fetch(key('reset.jpg')));
    assert.ok(error instanceof SourceUnavailableError, String(error));
    assert.equal(error.isConfigurationError, false);
  });

  test('HEAD keeps the connection alive', async () => {
    const src = track(createS3Source(target(), { ...FETCH, maxConnections: 1 }));
    const before = fake.requests.length;
    await src.stat(key('one.jpg'));
    await src.stat(key('two.jpg'));
    const seen = fake.requests.slice(before);
    assert.equal(seen.length, 2);
    assert.notEqual(seen[0]?.headers['connection'], 'close');
  });
});

describe('S3 request URLs', () => {
  const base: S3Target = {
    bucket: 'my-bucket',
    prefix: 'img/',
    endpoint: 'https://s3.eu-west-1.amazonaws.com',
    region: 'eu-west-1',
    forcePathStyle: false,
  };
  const now = new Date('2024-01-01T00:00:00Z');

  test('virtual-hosted style puts the bucket in the host', () => {
    const req = buildS3Request(base, 'GET', 'a b.jpg', { now });
    assert.equal(req.origin, 'https://my-bucket.s3.eu-west-1.amazonaws.com');
    assert.equal(req.path, '/img/a%20b.jpg');
    assert.equal(req.headers['host'], 'my-bucket.s3.eu-west-1.amazonaws.com');
  });

  test('virtual-hosted style keeps a custom port', () => {
    const req = buildS3Request({ ...base, endpoint: 'http://storage.local:9000' }, 'HEAD', 'x.jpg', { now });
    assert.equal(req.origin, 'http://my-bucket.storage.local:9000');
    assert.equal(req.headers['host'], 'my-bucket.storage.local:9000');
  });

  test('path style puts the bucket in the path', () => {
    const req = buildS3Request({ ...base, forcePathStyle: true }, 'GET', 'a.jpg', { now });
    assert.equal(req.origin, 'https://s3.eu-west-1.amazonaws.com');
    assert.equal(req.path, '/my-bucket/img/a.jpg');
  });

  test('an endpoint with a path keeps it in front', () => {
    const req = buildS3Request({ ...base, endpoint: 'https://gw.example/s3', forcePathStyle: true }, 'GET', 'a.jpg', { now });
    assert.equal(req.path, '/s3/my-bucket/img/a.jpg');
  });

  test('an IP endpoint is always path style', () => {
    for (const endpoint of ['http://10.0.0.5:9000', 'http://[fd00::5]:9000']) {
      const req = buildS3Request({ ...base, endpoint }, 'GET', 'a.jpg', { now });
      assert.equal(req.origin, endpoint);
      assert.equal(req.path, '/my-bucket/img/a.jpg');
    }
  });
});
