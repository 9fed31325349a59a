/**
 * Every header an image response carries, built in one pure function so 200 and 304 answers
 * cannot drift apart: a 304 sends the subset RFC 9110 §15.4.5 requires of it.
 */
import type { FormatToken } from '../../transforms/formats.js';

export interface Timings {
  /** Source fetch, in milliseconds. */
  readonly sourceMs?: number;
  readonly transformMs?: number;
  /** Served from the in-memory variant tier. */
  readonly cache?: 'hit';
}

export interface ResponseHeaderInput {
  readonly etag: string;
  readonly lastModified?: Date | undefined;
  readonly cacheControl: string;
  /** Request headers the variant depended on (`Accept`, client hints). */
  readonly vary: readonly string[];
  /** The negotiated format token, when the format came from `Accept`. */
  readonly formatToken?: FormatToken | undefined;
  readonly timings: Timings;
}

/** Client hints this origin acts on (`w=auto`, `dpr=auto`), offered to browsers on every image. */
const ACCEPT_CH = 'Sec-CH-DPR, Sec-CH-Width, Sec-CH-Viewport-Width';

export type HeaderMap = Record<string, string>;

export function notModifiedHeaders(input: ResponseHeaderInput): HeaderMap {
  const timing = serverTiming(input.timings);
  return {
    'cache-control': input.cacheControl,
    etag: input.etag,
    ...(input.vary.length > 0 && { vary: input.vary.join(', ') }),
    ...(input.formatToken && { 'x-image-format-token': input.formatToken }),
    'accept-ch': ACCEPT_CH,
    ...(input.lastModified && { 'last-modified': input.lastModified.toUTCString() }),
    'x-content-type-options': 'nosniff',
    ...(timing !== '' && { 'server-timing': timing }),
  };
}

/** What only a 200 carries: the body's type and length, and `Content-Disposition` for `dl=`. */
export interface BodyHeaderInput {
  readonly contentType: string;
  readonly contentLength: number;
  readonly contentDisposition?: string | undefined;
}

export function imageHeaders(input: ResponseHeaderInput & BodyHeaderInput): HeaderMap {
  return {
    ...notModifiedHeaders(input),
    'content-type': input.contentType,
    'content-length': String(input.contentLength),
    ...(input.contentDisposition !== undefined && { 'content-disposition': input.contentDisposition }),
  };
}

function serverTiming({ sourceMs, transformMs, cache }: Timings): string {
  return [
    cache && `cache;desc=${cache}`,
    sourceMs !== undefined && `source;dur=${sourceMs.toFixed(1)}`,
    transformMs !== undefined && `transform;dur=${transformMs.toFixed(1)}`,
  ]
    .filter(Boolean)
    .join(', ');
}
