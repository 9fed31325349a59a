/**
 * Pure construction of one S3 GetObject/HeadObject request: the host (virtual-hosted
 * `bucket.endpoint` by default, `endpoint/bucket` when path-style is forced or the endpoint is an
 * IP address), the object path URI-encoded by S3's rules, and the SigV4 headers computed with
 * `aws4` for a given instant. The path returned is byte for byte the one that was signed, so the sender must use it unchanged.
 * Without credentials the request is anonymous (no Authorization, no x-amz-* headers). Nothing
 * here does I/O or reads the clock, which is what lets tests pin it to AWS's published example.
 */
import { isIP } from 'node:net';
import aws4 from 'aws4';
import { encodeS3Key, encodeS3Segment } from './s3-key.js';
import type { SourceConfig } from '../config.js';

export type S3Target = Pick<
  Extract<SourceConfig, { kind: 's3' }>,
  'bucket' | 'prefix' | 'endpoint' | 'region' | 'forcePathStyle' | 'credentials'
>;

/** GET/HEAD for sources; PUT, DELETE and listing (GET with a query) for the result store. */
export type S3Method = 'GET' | 'HEAD' | 'PUT' | 'DELETE';

/** What a request beyond a plain GET/HEAD carries: a payload's hash, headers to sign, a query. */
export interface S3RequestExtras {
  /** Hex SHA-256 of the body; the empty payload's when omitted. */
  readonly payloadSha256?: string;
  /** Lower-case names (content-type, x-amz-meta-*); signed with the rest. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Query parameters (ListObjectsV2); the key must then be '' (the bucket itself). */
  readonly query?: Readonly<Record<string, string>>;
}

export interface S3Request {
  /** `scheme://host[:port]` to connect to. */
  readonly origin: string;
  /** Encoded path, exactly as signed. */
  readonly path: string;
  readonly method: S3Method;
  /** Lower-case header names; includes `host` and, when signed, `authorization`. */
  readonly headers: Readonly<Record<string, string>>;
}

/** SHA-256 of the empty payload: GET and HEAD carry none. */
export const EMPTY_PAYLOAD_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** `20130524T000000Z`, the x-amz-date format. */
export function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** aws4 leaves Range unsigned by default; S3 (and AWS's example) sign it. Not in @types/aws4. */
type Aws4Request = aws4.Request & { extraHeadersToInclude?: Record<string, boolean> };

export function buildS3Request(
  target: S3Target,
  method: S3Method,
  key: string,
  options: { readonly now: Date; readonly range?: string } & S3RequestExtras,
): S3Request {
  const endpoint = new URL(target.endpoint);
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  // A bucket cannot be a subdomain of an IP address, so IP endpoints are always path-style.
  const pathStyle = target.forcePathStyle || isIP(endpoint.hostname.replace(/^\[(.*)\]$/, '$1')) !== 0;
  const host = pathStyle ? endpoint.host : `${target.bucket}.${endpoint.host}`;
  const bucketPath = pathStyle ? `/${encodeS3Segment(target.bucket)}` : '';
  const objectPath = options.query === undefined ? `/${encodeS3Key(target.prefix + key)}` : '/';
  const query = options.query === undefined ? '' : `?${canonicalQuery(options.query)}`;
  const path = `${basePath}${bucketPath}${objectPath}${query}`;
  const origin = `${endpoint.protocol}//${host}`;

  const headers: Record<string, string> = { host, ...options.headers };
  if (options.range !== undefined) headers['range'] = options.range;
  const credentials = target.credentials;
  if (credentials === undefined) return { origin, path, method, headers };

  headers['x-amz-content-sha256'] = options.payloadSha256 ?? EMPTY_PAYLOAD_SHA256;
  headers['x-amz-date'] = amzDate(options.now);
  if (credentials.sessionToken !== undefined) headers['x-amz-security-token'] = credentials.sessionToken;
  const request: Aws4Request = {
    method,
    host,
    path,
    service: 's3',
    region: target.region,
    headers: { ...headers },
    extraHeadersToInclude: { range: true },
  };
  const signed = aws4.sign(request, {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
  });
  const authorization = signed.headers?.['Authorization'];
  // aws4 rewrites the path only for characters our encoding never leaves; make sure of it.
  if (typeof authorization !== 'string' || signed.path !== path) {
    throw new Error('S3 request signing produced an unexpected request');
  }
  return { origin, path, method, headers: { ...headers, authorization } };
}

/** Sorted, S3-encoded `name=value` pairs: the form aws4 signs, so the path stays as built. */
function canonicalQuery(query: Readonly<Record<string, string>>): string {
  return Object.keys(query)
    .sort()
    .map((name) => `${encodeS3Segment(name)}=${encodeS3Segment(query[name]!)}`)
    .join('&');
}
