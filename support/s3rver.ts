/**
 * A real S3-compatible server for the tests and the benchmark's storage: s3rver on 127.0.0.1 with
 * an ephemeral port, its storage in a fresh temporary folder, logging silenced. It creates one bucket, seeds it with objects,
 * lets tests add more through signed PutObject requests, and removes everything on `close()`.
 * The helper encodes and signs its PUTs on its own (not through the source under test), so a
 * round trip through it checks the source rather than agreeing with itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import aws4 from 'aws4';
import { Agent, request } from 'undici';
import type { SourceConfig } from '../origin/config.js';

/** s3rver's built-in account. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const S3RVER_REGION = 'us-east-1';

export interface S3rverOptions {
  /** Bucket to create; `images` when omitted. */
  readonly bucket?: string;
  /** More (empty) buckets to create beside it, e.g. one for results. */
  readonly otherBuckets?: readonly string[];
  /** Objects to put before returning, by full key (prefix included). */
  readonly objects?: Readonly<Record<string, Buffer>>;
}

export interface RunningS3rver {
  /** `http://127.0.0.1:<port>`, no trailing slash: an `S3_ENDPOINT` value. */
  readonly endpoint: string;
  readonly bucket: string;
  /** A ready s3 SourceConfig (path-style, s3rver's credentials); override any field. */
  sourceConfig(overrides?: Partial<Extract<SourceConfig, { kind: 's3' }>>): Extract<SourceConfig, { kind: 's3' }>;
  /** Environment variables that make `loadConfig` point at this server. */
  env(prefix?: string): Record<string, string>;
  /** Every key in the bucket (or in `inBucket`), as s3rver stored it (ListObjects). */
  listKeys(inBucket?: string): Promise<string[]>;
  /** PutObject with s3rver's credentials; resolves with the object's ETag. */
  put(key: string, bytes: Buffer, contentType?: string): Promise<string>;
  close(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

// s3rver ships CommonJS without types; require keeps it out of the type system in one place.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

/** S3's segment encoding, written independently of origin/sources/s3-request.ts on purpose. */
function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()))
    .join('/');
}

/** Undoes the XML escaping s3rver applies to text (it escapes & < > " ' and backtick). */
function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_m, entity: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (entity.startsWith('#x') || entity.startsWith('#X')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    return named[entity.toLowerCase()] ?? '';
  });
}

export async function startS3rver(options: S3rverOptions = {}): Promise<RunningS3rver> {
  const bucket = options.bucket ?? 'images';
  const directory = await mkdtemp(path.join(os.tmpdir(), 's3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [bucket, ...(options.otherBuckets ?? [])].map((name) => ({ name })),
  });
  let port: number;
  try {
    ({ port } = await server.run());
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const host = `127.0.0.1:${port}`;
  const endpoint = `http://${host}`;
  const dispatcher = new Agent({ connections: 4 });

  async function put(key: string, bytes: Buffer, contentType = 'application/octet-stream'): Promise<string> {
    const signed = aws4.sign(
      {
        method: 'PUT',
        host,
        path: `/${bucket}/${encodeKeyPath(key)}`,
        service: 's3',
        region: S3RVER_REGION,
        headers: { 'content-type': contentType, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        body: bytes,
      },
      S3RVER_CREDENTIALS,
    );
    const res = await request(`${endpoint}${signed.path ?? ''}`, {
      method: 'PUT',
      headers: signed.headers as Record<string, string>,
      body: bytes,
      dispatcher,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`s3rver PUT ${key} answered ${res.statusCode}: ${text}`);
    const etag = res.headers['etag'];
    if (typeof etag !== 'string') throw new Error(`s3rver PUT ${key} returned no ETag`);
    return etag;
  }

  async function listKeys(inBucket = bucket): Promise<string[]> {
    const signed = aws4.sign(
      { method: 'GET', host, path: `/${inBucket}/`, service: 's3', region: S3RVER_REGION },
      S3RVER_CREDENTIALS,
    );
    const res = await request(`${endpoint}${signed.path ?? ''}`, {
      headers: signed.headers as Record<string, string>,
      dispatcher,
    });
    const xml = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`s3rver ListObjects answered ${res.statusCode}: ${xml}`);
    return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => decodeXmlText(m[1] ?? ''));
  }

  for (const [key, bytes] of Object.entries(options.objects ?? {})) await put(key, bytes);

  return {
    endpoint,
    bucket,
    sourceConfig: (overrides = {}) => ({
      kind: 's3',
      bucket,
      prefix: '',
      endpoint,
      region: S3RVER_REGION,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
      ...overrides,
    }),
    env: (prefix = '') => ({
      ORIGIN_SOURCE: `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`,
      S3_ENDPOINT: endpoint,
      S3_REGION: S3RVER_REGION,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    }),
    put,
    listKeys,
    async close() {
      await dispatcher.close();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
