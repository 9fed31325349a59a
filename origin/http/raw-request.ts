/** A request as the flow reads it (`RawRequest`), from the URL and headers as Node received them. */
import type { IncomingHttpHeaders } from 'node:http';
import type { RawRequest } from '../request/read-request.js';

export function rawRequest(url: string, headers: IncomingHttpHeaders): RawRequest {
  const at = url.indexOf('?');
  return {
    path: at === -1 ? url : url.slice(0, at),
    rawQuery: at === -1 ? '' : url.slice(at + 1),
    // A header sent twice reads as its first value.
    header: (name) => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
  };
}
