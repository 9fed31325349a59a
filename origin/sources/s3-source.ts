/**
 * The S3-compatible source (AWS S3, MinIO, R2, OSS…): GetObject for `fetch`, HeadObject for
 * `stat`, sent over one keep-alive undici Agent with bounded connections and the configured
 * connect/headers/body timeouts. Requests are built and signed by `s3-request`, error answers
 * are classified by `s3-errors` from their XML `<Code>`. HEAD answers carry no body, so a failed
 * HEAD is followed by a one-byte ranged GET whose error body tells a missing key from a
 * credential or bucket problem. Credentials stay inside the signing step: never in messages.
 */
import type { Dispatcher } from 'undici';
import { Agent } from './undici-agent.js';
import type { FetchConfig, SourceConfig } from '../config.js';
import type { ImageSource, SourceKey, SourceObject, SourceStat } from './source.js';
import { readBodyWithLimit, type HeaderValue } from './read-body.js';
import { buildS3Request } from './s3-request.js';
import { readS3ErrorCode, s3Error } from './s3-errors.js';
import { parseRetryAfter } from './retry-after.js';
import { asSourceError } from './undici-errors.js';

type S3SourceConfig = Extract<SourceConfig, { kind: 's3' }>;

/** HEAD failures worth a diagnostic GET: the ones whose meaning depends on the error code. */
const AMBIGUOUS_HEAD_STATUSES = new Set([400, 403, 404]);

function first(header: HeaderValue): string | undefined {
  return typeof header === 'string' ? header : header?.[0];
}

function statOf(headers: Dispatcher.ResponseData['headers']): SourceStat {
  const etag = first(headers['etag']);
  const lastModifiedText = first(headers['last-modified']);
  const parsed = lastModifiedText === undefined ? undefined : new Date(lastModifiedText);
  const lastModified = parsed === undefined || Number.isNaN(parsed.getTime()) ? undefined : parsed;
  // Every S3 implementation sends an ETag; the fallback only keeps a broken one cacheable.
  const version = etag ?? `${lastModifiedText ?? ''}|${first(headers['content-length']) ?? ''}`;
  return lastModified === undefined ? { version } : { version, lastModified };
}

export function createS3Source(config: S3SourceConfig, fetch: FetchConfig): ImageSource {
  const description = `s3://${config.bucket}/${config.prefix}`;
  const agent = new Agent({
    connections: fetch.maxConnections,
    headersTimeout: fetch.headersTimeoutMs,
    bodyTimeout: fetch.bodyTimeoutMs,
    connect: { timeout: fetch.connectTimeoutMs },
  });

  async function send(method: 'GET' | 'HEAD', key: SourceKey, signal?: AbortSignal, range?: string): Promise<Dispatcher.ResponseData> {
    const req = buildS3Request(config, method, key, { now: new Date(), ...(range !== undefined && { range }) });
    // undici closes the connection after every HEAD unless told otherwise (for servers that
    // wrongly send a body); S3 does not, and a new TLS handshake per stat() would be costly.
    return agent.request({ origin: req.origin, path: req.path, method, headers: req.headers, signal, reset: false });
  }

  /** The error for a failed HEAD (no body, so no code): the status and `Retry-After` decide. */
  function headError(res: Dispatcher.ResponseData): Error {
    return s3Error(res.statusCode, undefined, description, parseRetryAfter(res.headers['retry-after']));
  }

  /** The error for a failed GET, from its status, XML error code and `Retry-After`. */
  async function getError(res: Dispatcher.ResponseData): Promise<Error> {
    return s3Error(res.statusCode, await readS3ErrorCode(res.body), description, parseRetryAfter(res.headers['retry-after']));
  }

  return {
    description,

    fetch: (key: SourceKey, signal?: AbortSignal): Promise<SourceObject> =>
      asSourceError(description, signal, fetch.totalTimeoutMs, async (bounded) => {
        const res = await send('GET', key, bounded);
        if (res.statusCode !== 200) throw await getError(res);
        const bytes = await readBodyWithLimit(res.body, res.headers['content-length'], fetch.maxBytes);
        return { ...statOf(res.headers), bytes };
      }),

    stat: (key: SourceKey, signal?: AbortSignal): Promise<SourceStat> =>
      asSourceError(description, signal, fetch.totalTimeoutMs, async (bounded) => {
        const res = await send('HEAD', key, bounded);
        await res.body.dump();
        if (res.statusCode === 200) return statOf(res.headers);
        if (!AMBIGUOUS_HEAD_STATUSES.has(res.statusCode)) throw headError(res);
        const probe = await send('GET', key, bounded, 'bytes=0-0');
        if (probe.statusCode >= 300 && probe.statusCode !== 416) throw await getError(probe);
        // The object appeared meanwhile (200/206) or is empty (416): the HEAD status decides.
        await probe.body.dump();
        throw headError(res);
      }),

    async close(): Promise<void> {
      await agent.close();
    },
  };
}
