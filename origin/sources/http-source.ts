/**
 * The HTTP source: objects live under a base URL (`https://images.example/originals/`). This
 * module owns turning a key into a URL that cannot leave the base, the keep-alive undici Agent
 * with its timeouts and SSRF address guard, following a few redirects only when they stay under
 * the base, and mapping the upstream status to the origin's errors (404/410 → 404, 401/403 → 502
 * configuration error, 429/503 → 502 that backs off, anything else unexpected → 502). Bodies are
 * read with the size limit and every body not read is dumped so the socket goes back to the pool
 * or is closed.
 */
import { isIP } from 'node:net';
import type { Dispatcher } from 'undici';
import { Agent } from './undici-agent.js';
import { ConfigError, type FetchConfig, type SourceConfig } from '../config.js';
import { NotFoundError, SourceUnavailableError } from '../errors.js';
import type { ImageSource, SourceKey, SourceObject, SourceStat } from './source.js';
import { guardedLookup, isPublicAddress } from './address-guard.js';
import { readBodyWithLimit, parseContentLength, type HeaderValue } from './read-body.js';
import { isThrottleStatus, parseRetryAfter } from './retry-after.js';
import { asSourceError } from './undici-errors.js';

type HttpSourceConfig = Extract<SourceConfig, { kind: 'http' }>;

const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * The URL of `key` under `base` (which ends with `/`): each segment percent-encoded so `?`, `#`,
 * `%` and `/`-lookalikes stay inside the path. Throws if the result somehow escapes the base.
 */
export function keyUrl(base: URL, key: string): URL {
  const url = new URL(base.href + key.split('/').map(encodeURIComponent).join('/'));
  if (!url.href.startsWith(base.href) || url.search !== '' || url.hash !== '') {
    throw new NotFoundError('key does not map to a path under the base URL');
  }
  return url;
}

/** Whether a redirect target stays on the base's origin and under its path. */
export function isUnderBase(base: URL, target: URL): boolean {
  return target.origin === base.origin && target.pathname.startsWith(base.pathname);
}

function first(header: HeaderValue): string | undefined {
  return typeof header === 'string' ? header : header?.[0];
}

function parseDate(header: HeaderValue): Date | undefined {
  const value = first(header);
  if (value === undefined) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** ETag when the server sends one; otherwise Last-Modified and length, which change with the bytes. */
function statOf(headers: Dispatcher.ResponseData['headers'], length: number | undefined): SourceStat {
  const etag = first(headers['etag']);
  const lastModified = parseDate(headers['last-modified']);
  const version = etag ?? `${first(headers['last-modified']) ?? ''}|${length ?? ''}`;
  return lastModified === undefined ? { version } : { version, lastModified };
}

export function createHttpSource(config: HttpSourceConfig, fetch: FetchConfig): ImageSource {
  const base = new URL(config.baseUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const description = `http:${base.href}`;
  // Node never calls `lookup` for IP literals, so a literal base is checked once, here.
  const host = base.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0 && !config.allowPrivateAddresses && !isPublicAddress(host)) {
    throw new ConfigError([`ORIGIN_SOURCE: ${host} is not a public address; set ORIGIN_HTTP_ALLOW_PRIVATE=true to use it`]);
  }

  const agent = new Agent({
    connections: fetch.maxConnections,
    headersTimeout: fetch.headersTimeoutMs,
    bodyTimeout: fetch.bodyTimeoutMs,
    connect: {
      timeout: fetch.connectTimeoutMs,
      ...(config.allowPrivateAddresses ? {} : { lookup: guardedLookup }),
    },
  });

  /** Sends `method` for `key`, following same-base redirects; returns the final response. */
  async function request(method: 'GET' | 'HEAD', key: SourceKey, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    let url = keyUrl(base, key);
    for (let hop = 0; ; hop++) {
      const res = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method,
        // identity: we hand the bytes to the decoder as they are, never gzip of them.
        headers: { accept: 'image/*,*/*;q=0.8', 'accept-encoding': 'identity' },
        signal,
      });
      const location = first(res.headers['location']);
      if (!REDIRECT_STATUSES.has(res.statusCode) || location === undefined) return res;
      await res.body.dump();
      const target = new URL(location, url);
      target.hash = '';
      if (!isUnderBase(base, target)) {
        throw new SourceUnavailableError(`${description}: refused redirect outside the base URL`, {
          code: 'SOURCE_REDIRECT_REFUSED',
        });
      }
      if (hop >= MAX_REDIRECTS) {
        throw new SourceUnavailableError(`${description}: more than ${MAX_REDIRECTS} redirects`, {
          code: 'SOURCE_REDIRECT_REFUSED',
        });
      }
      url = target;
    }
  }

  /** Throws the origin error for a non-200 answer (after dumping its body). */
  async function rejectStatus(res: Dispatcher.ResponseData): Promise<never> {
    await res.body.dump().catch(() => undefined);
    const status = res.statusCode;
    if (status === 404 || status === 410) throw new NotFoundError();
    if (status === 401 || status === 403) {
      throw new SourceUnavailableError(`${description} answered ${status}: check the base URL's access rules`, {
        isConfigurationError: true,
        code: 'SOURCE_CONFIGURATION',
      });
    }
    // 429/503 (or any Retry-After) asks for fewer requests: the key then backs off.
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    throw new SourceUnavailableError(`${description} answered ${status}`, { throttled: isThrottleStatus(status), retryAfterMs });
  }

  return {
    description,

    fetch: (key: SourceKey, signal?: AbortSignal): Promise<SourceObject> =>
      asSourceError(description, signal, fetch.totalTimeoutMs, async (bounded) => {
        const res = await request('GET', key, bounded);
        if (res.statusCode !== 200) return rejectStatus(res);
        const bytes = await readBodyWithLimit(res.body, res.headers['content-length'], fetch.maxBytes);
        return { ...statOf(res.headers, parseContentLength(res.headers['content-length']) ?? bytes.length), bytes };
      }),

    stat: (key: SourceKey, signal?: AbortSignal): Promise<SourceStat> =>
      asSourceError(description, signal, fetch.totalTimeoutMs, async (bounded) => {
        const res = await request('HEAD', key, bounded);
        if (res.statusCode !== 200) return rejectStatus(res);
        await res.body.dump();
        return statOf(res.headers, parseContentLength(res.headers['content-length']));
      }),

    async close(): Promise<void> {
      await agent.close();
    },
  };
}
