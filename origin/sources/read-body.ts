/**
 * Reads a response body into one Buffer without ever holding more than the configured maximum.
 * A declared Content-Length above the maximum is refused before a byte is read; a body without
 * one (chunked, or a server that lies) is counted while streaming and destroyed the moment it
 * passes the maximum, so a huge or endless source cannot exhaust memory. Destroying the stream
 * also tells the HTTP client to drop the connection instead of draining the rest.
 */
import type { Readable } from 'node:stream';
import { SourceTooLargeError } from '../errors.js';

/** A header value as HTTP clients hand it over: absent, single or repeated. */
export type HeaderValue = string | readonly string[] | undefined;

/**
 * Parses Content-Length; `undefined` when absent or not a plain non-negative integer (the
 * streaming count still applies then). Repeated identical values are allowed, as RFC 9110 does.
 */
export function parseContentLength(header: HeaderValue): number | undefined {
  const values = typeof header === 'string' ? [header] : (header ?? []);
  const distinct = new Set(values.flatMap((v) => v.split(',')).map((v) => v.trim()));
  if (distinct.size !== 1) return undefined;
  const [only = ''] = distinct;
  if (!/^\d{1,16}$/.test(only)) return undefined;
  return Number(only);
}

export async function readBodyWithLimit(body: Readable, contentLengthHeader: HeaderValue, maxBytes: number): Promise<Buffer> {
  const declared = parseContentLength(contentLengthHeader);
  if (declared !== undefined && declared > maxBytes) {
    body.destroy();
    throw new SourceTooLargeError(maxBytes);
  }
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += buf.length;
      if (received > maxBytes) throw new SourceTooLargeError(maxBytes);
      chunks.push(buf);
    }
  } finally {
    // Leaving the loop early (limit, or an error) must not leave the socket half-read.
    if (!body.readableEnded) body.destroy();
  }
  return Buffer.concat(chunks, received);
}
