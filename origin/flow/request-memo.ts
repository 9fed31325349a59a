/**
 * The memo of read requests, so that a repeated request (a variant-tier hit and its 304 above
 * all) skips stages 1 to 4 of the flow: no query parse, zod, preset resolution or canonical spec.
 *
 * Those stages are a pure function of the URL as sent and of what they read from headers: the
 * format token and the resolved client hints. So the memo has two levels, each keyed by exactly
 * what its result depends on:
 *
 * - the URL (path and query, as sent) → the read request (`readRequest`). Only accepted URLs are
 *   kept, so a refused one is refused afresh every time, with its own answer. A signed URL's
 *   signature (and `exp`) is checked again on every request, before the memo answers;
 * - the read request with the format token and the resolved hints (DPR, device width,
 *   Save-Data) → its plan: the job and how its responses are labelled.
 *
 * The hints are resolved and the token negotiated on every request (a few header reads), so two
 * requests that differ in any header the answer depends on never share a plan. Both levels are
 * bounded LRUs: a client sending endless distinct URLs evicts old entries, never grows memory.
 *
 * Measured on the 2-core VM, `serveImage` on a kept variant (200 and 304 alternating, minimum of
 * 15 batches): 34.9 µs per hit reading every request afresh, 2.1 µs with this memo and the
 * prebuilt answers of `answer.ts` (README "Start-up and hit-path figures").
 */
import { LRUCache } from 'lru-cache';
import type { Preset } from '../../presets/preset-registry.js';
import { formatToken as negotiatedToken, negotiateFormat, FORMAT_TOKEN_HEADER } from '../http/negotiate-format.js';
import type { HeaderReader } from '../http/client-hints.js';
import type { Job } from '../load/jobs.js';
import type { ImageRequest, RawRequest, RequestDeps } from '../request/read-request.js';
import { readRequest } from '../request/read-request.js';
import { verifySignature } from '../signing.js';
import type { FormatToken } from '../../transforms/formats.js';
import type { ResponsePolicy } from './answer.js';

/** What stages 1 to 4 decide for one request. */
export interface Plan {
  readonly job: Job;
  readonly policy: ResponsePolicy;
  /** The request's preset, for its fallback image. */
  readonly preset?: Preset | undefined;
}

/** One remembered URL: its read request and the plans made from it so far. */
export interface ReadEntry {
  readonly request: ImageRequest;
  /** The plan for `key` (what the plan depends on besides the request), made by `make` when new. */
  plan(key: string, make: () => Plan): Plan;
}

export interface RequestMemo {
  /** The read request for `req`: remembered, or read now (throwing its 4xx) and remembered. */
  read(req: RawRequest): ReadEntry;
  /** The read request for `req` only when remembered (its signature checked again); never reads one. */
  remembered(req: RawRequest): ReadEntry | undefined;
  /** `formatToken` over a remembered `Accept` header (browsers send a handful of spellings). */
  formatToken(header: HeaderReader): FormatToken;
}

/**
 * Bytes each level may hold (estimated: an entry's objects as a fixed share plus its key, which
 * may be a 4 KB path); 0 turns the memo off, and every request is read afresh.
 */
export type RequestMemoBytes = number;

/**
 * 16 MiB per level: some 12 000 URLs and 12 000 plans of typical length, the hot set of a CDN's
 * misses and revalidations many times over, and at most 32 MiB however long the URLs sent.
 */
export const REQUEST_MEMO_BYTES: RequestMemoBytes = 16 * 1024 * 1024;

/** Estimated heap bytes of one entry's objects (a parsed spec, a canonical spec, a job), besides its key. */
const ENTRY_BYTES = 1024;

/** Distinct `Accept` values remembered; beyond that the least used is parsed again. */
const ACCEPT_VALUES = 256;
/** Browsers' `Accept` for images is under 100 characters; a longer one is parsed, not kept. */
const MAX_REMEMBERED_ACCEPT = 256;

const TOKENS: ReadonlySet<string> = new Set<FormatToken>(['avif', 'webp', 'legacy']);

export function createRequestMemo(deps: RequestDeps, bytes: RequestMemoBytes = REQUEST_MEMO_BYTES): RequestMemo {
  const signed = deps.signingKeys.length > 0;
  const accepts = new LRUCache<string, FormatToken>({ maxSize: ACCEPT_VALUES, sizeCalculation: () => 1 });

  function formatToken(header: HeaderReader): FormatToken {
    // The same precedence as http/negotiate-format.ts's formatToken: a valid forwarded token wins.
    const forwarded = header(FORMAT_TOKEN_HEADER)?.trim().toLowerCase();
    if (forwarded !== undefined && TOKENS.has(forwarded)) return forwarded as FormatToken;
    const accept = header('accept');
    if (!accept) return 'legacy';
    if (accept.length > MAX_REMEMBERED_ACCEPT) return negotiateFormat(accept);
    let token = accepts.get(accept);
    if (token === undefined) accepts.set(accept, (token = negotiateFormat(accept)));
    return token;
  }

  if (bytes === 0) {
    // The flow exactly as without a memo (the tests compare the two answer for answer).
    const unremembered = (request: ImageRequest): ReadEntry => ({ request, plan: (_key, make) => make() });
    return { read: (req) => unremembered(readRequest(deps, req)), remembered: () => undefined, formatToken: negotiatedToken };
  }

  // Bounded by size, not count: no arrays preallocated at start-up, and long keys count in full.
  const sized = { maxSize: bytes, sizeCalculation: (_value: unknown, key: string) => ENTRY_BYTES + 2 * key.length };
  const entries = new LRUCache<string, ReadEntry>(sized);
  const plans = new LRUCache<string, Plan>(sized);

  function remember(url: string, request: ImageRequest): ReadEntry {
    // The URL and the plan key are joined by a newline, which no request line can carry.
    const entry: ReadEntry = {
      request,
      plan(key, make) {
        const planKey = `${url}\n${key}`;
        let plan = plans.get(planKey);
        if (plan === undefined) plans.set(planKey, (plan = make()));
        return plan;
      },
    };
    entries.set(url, entry);
    return entry;
  }

  const urlOf = (req: RawRequest): string => (req.rawQuery === '' ? req.path : `${req.path}?${req.rawQuery}`);
  function remembered(req: RawRequest): ReadEntry | undefined {
    const kept = entries.get(urlOf(req));
    // 403 exactly as readRequest would: an expired URL stops working on the second it expires.
    if (kept !== undefined && signed) verifySignature(req.path, req.rawQuery, deps.signingKeys, Math.floor(Date.now() / 1000));
    return kept;
  }

  return {
    read: (req) => remembered(req) ?? remember(urlOf(req), readRequest(deps, req)),
    remembered,
    formatToken,
  };
}
