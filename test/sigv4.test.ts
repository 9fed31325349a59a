/**
 * The S3 request signing, checked twice: against AWS's published GET Object example (S3 API
 * reference, "Signature Calculations for the Authorization Header: Transferring Payload in a
 * Single Chunk"), and against a small SigV4 written here from the specification, for keys whose
 * encoding matters (spaces, `+`, non-ASCII, sub-delimiters). s3rver does not verify signatures,
 * so this file is what proves the Authorization header a real S3 would check.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { encodeS3Key } from '../origin/sources/s3-key.js';
import { buildS3Request, EMPTY_PAYLOAD_SHA256, type S3Target } from '../origin/sources/s3-request.js';

// --- AWS's published example -------------------------------------------------------------------
const EXAMPLE = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  date: new Date('2013-05-24T00:00:00Z'),
  canonicalRequest: [
    'GET',
    '/test.txt',
    '',
    'host:examplebucket.s3.amazonaws.com',
    'range:bytes=0-9',
    'x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'x-amz-date:20130524T000000Z',
    '',
    'host;range;x-amz-content-sha256;x-amz-date',
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  ].join('\n'),
  canonicalRequestSha256: '7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972',
  signature: 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
};

const exampleTarget: S3Target = {
  bucket: 'examplebucket',
  prefix: '',
  endpoint: 'https://s3.amazonaws.com',
  region: 'us-east-1',
  forcePathStyle: false,
  credentials: { accessKeyId: EXAMPLE.accessKeyId, secretAccessKey: EXAMPLE.secretAccessKey },
};

// --- An independent SigV4, from the specification ----------------------------------------------
const sha256 = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 unreserved characters stay; every other UTF-8 byte becomes %XX (upper-case hex). */
function uriEncode(segment: string): string {
  let out = '';
  for (const byte of Buffer.from(segment, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

interface Spec {
  method: string;
  canonicalUri: string;
  headers: Record<string, string>;
  payloadHash: string;
  region: string;
  secret: string;
  amzDate: string;
}

function specCanonicalRequest(s: Spec): { canonical: string; signedHeaders: string } {
  const names = Object.keys(s.headers).map((h) => h.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(s.headers).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  const signedHeaders = names.join(';');
  const canonical = [s.method, s.canonicalUri, '', ...names.map((n) => `${n}:${lower[n]}`), '', signedHeaders, s.payloadHash].join('\n');
  return { canonical, signedHeaders };
}

function specSignature(s: Spec): string {
  const day = s.amzDate.slice(0, 8);
  const scope = `${day}/${s.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', s.amzDate, scope, sha256(specCanonicalRequest(s).canonical)].join('\n');
  const kDate = hmac(`AWS4${s.secret}`, day);
  const kSigning = hmac(hmac(hmac(kDate, s.region), 's3'), 'aws4_request');
  return createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
}

function authFields(authorization: string | undefined): { credential: string; signedHeaders: string; signature: string } {
  assert.ok(authorization, 'authorization header expected');
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
  assert.ok(match, `unexpected Authorization: ${authorization}`);
  return { credential: match[1]!, signedHeaders: match[2]!, signature: match[3]! };
}

describe('independent SigV4 (test oracle)', () => {
  const spec: Spec = {
    method: 'GET',
    canonicalUri: '/test.txt',
    headers: {
      Host: 'examplebucket.s3.amazonaws.com',
      Range: 'bytes=0-9',
      'x-amz-content-sha256': EMPTY_PAYLOAD_SHA256,
      'x-amz-date': '20130524T000000Z',
    },
    payloadHash: EMPTY_PAYLOAD_SHA256,
    region: 'us-east-1',
    secret: EXAMPLE.secretAccessKey,
    amzDate: '20130524T000000Z',
  };
  test("reproduces AWS's canonical request and its hash", () => {
    const { canonical } = specCanonicalRequest(spec);
    assert.equal(canonical, EXAMPLE.canonicalRequest);
    assert.equal(sha256(canonical), EXAMPLE.canonicalRequestSha256);
  });
  test("reproduces AWS's signature", () => {
    assert.equal(specSignature(spec), EXAMPLE.signature);
  });
  test('uriEncode follows S3 rules', () => {
    assert.equal(uriEncode("a b+c é日!'()*~"), 'a%20b%2Bc%20%C3%A9%E6%97%A5%21%27%28%29%2A~');
  });
});

describe('buildS3Request signing', () => {
  test("reproduces AWS's published GET Object example", () => {
    const req = buildS3Request(exampleTarget, 'GET', 'test.txt', { now: EXAMPLE.date, range: 'bytes=0-9' });
    assert.equal(req.origin, 'https://examplebucket.s3.amazonaws.com');
    assert.equal(req.path, '/test.txt');
    assert.equal(req.headers['host'], 'examplebucket.s3.amazonaws.com');
    assert.equal(req.headers['x-amz-date'], '20130524T000000Z');
    assert.equal(req.headers['x-amz-content-sha256'], EMPTY_PAYLOAD_SHA256);
    const auth = authFields(req.headers['authorization']);
    assert.equal(auth.credential, 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request');
    assert.equal(auth.signedHeaders, 'host;range;x-amz-content-sha256;x-amz-date');
    assert.equal(auth.signature, EXAMPLE.signature);
  });

  test('a different instant gives a different signature', () => {
    const req = buildS3Request(exampleTarget, 'GET', 'test.txt', { now: new Date('2013-05-24T00:00:01Z'), range: 'bytes=0-9' });
    assert.notEqual(authFields(req.headers['authorization']).signature, EXAMPLE.signature);
  });

  const keys: Array<[string, string]> = [
    ['photos/my pic+1 été 日本.jpg', '/photos/my%20pic%2B1%20%C3%A9t%C3%A9%20%E6%97%A5%E6%9C%AC.jpg'],
    ["odd/!'()*.png", '/odd/%21%27%28%29%2A.png'],
    ['pct/100%.jpg', '/pct/100%25.jpg'],
    ['q/a?b#c&d=e.jpg', '/q/a%3Fb%23c%26d%3De.jpg'],
    ['tilde/~a-b_c.d.jpg', '/tilde/~a-b_c.d.jpg'],
  ];
  for (const [key, expectedPath] of keys) {
    for (const method of ['GET', 'HEAD'] as const) {
      test(`${method} ${JSON.stringify(key)} is sent and signed as ${expectedPath}`, () => {
        const now = new Date('2024-02-29T12:34:56Z');
        const target: S3Target = { ...exampleTarget, region: 'eu-west-3', endpoint: 'https://s3.eu-west-3.amazonaws.com' };
        const req = buildS3Request(target, method, key, { now });
        assert.equal(req.path, expectedPath);
        assert.equal(encodeS3Key(key), expectedPath.slice(1));
        const expected = specSignature({
          method,
          canonicalUri: `/${key.split('/').map(uriEncode).join('/')}`,
          headers: {
            host: 'examplebucket.s3.eu-west-3.amazonaws.com',
            'x-amz-content-sha256': EMPTY_PAYLOAD_SHA256,
            'x-amz-date': '20240229T123456Z',
          },
          payloadHash: EMPTY_PAYLOAD_SHA256,
          region: 'eu-west-3',
          secret: EXAMPLE.secretAccessKey,
          amzDate: '20240229T123456Z',
        });
        const auth = authFields(req.headers['authorization']);
        assert.equal(auth.signedHeaders, 'host;x-amz-content-sha256;x-amz-date');
        assert.equal(auth.signature, expected);
      });
    }
  }

  test('path style with a prefix signs /bucket/prefix/key, and the session token is signed', () => {
    const now = new Date('2024-02-29T12:34:56Z');
    const target: S3Target = {
      bucket: 'my-bucket',
      prefix: 'originals/2024/',
      endpoint: 'http://minio.internal:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET', sessionToken: 'TOKEN/with+chars=' },
    };
    const req = buildS3Request(target, 'GET', 'a b.jpg', { now });
    assert.equal(req.origin, 'http://minio.internal:9000');
    assert.equal(req.path, '/my-bucket/originals/2024/a%20b.jpg');
    assert.equal(req.headers['x-amz-security-token'], 'TOKEN/with+chars=');
    const headers = {
      host: 'minio.internal:9000',
      'x-amz-content-sha256': EMPTY_PAYLOAD_SHA256,
      'x-amz-date': '20240229T123456Z',
      'x-amz-security-token': 'TOKEN/with+chars=',
    };
    const auth = authFields(req.headers['authorization']);
    assert.equal(auth.signedHeaders, 'host;x-amz-content-sha256;x-amz-date;x-amz-security-token');
    assert.equal(
      auth.signature,
      specSignature({
        method: 'GET',
        canonicalUri: '/my-bucket/originals/2024/a%20b.jpg',
        headers,
        payloadHash: EMPTY_PAYLOAD_SHA256,
        region: 'us-east-1',
        secret: 'SECRET',
        amzDate: '20240229T123456Z',
      }),
    );
  });

  test('without credentials the request is anonymous', () => {
    const { credentials: _omit, ...anonymous } = exampleTarget;
    const req = buildS3Request(anonymous, 'GET', 'a b.jpg', { now: EXAMPLE.date });
    assert.deepEqual(req.headers, { host: 'examplebucket.s3.amazonaws.com' });
    assert.equal(req.path, '/a%20b.jpg');
  });

  test('the secret never appears in the request', () => {
    const req = buildS3Request(exampleTarget, 'GET', 'test.txt', { now: EXAMPLE.date });
    assert.doesNotMatch(JSON.stringify(req), /wJalrXUtnFEMI/);
  });
});
