/**
 * One spelling per request URL. A CDN keys on the URL as sent, so `?w=100&&`, `?w=%31%30%30` and
 * `?w=100` would be three cache entries (and three origin misses) for one image. A query is
 * accepted only as the URL builder writes it: no empty pairs, and every name and value percent-
 * encoded exactly where it must be (`encodeQueryComponent`), never more, never with `+`.
 */
import type { Problem } from '../../transforms/errors.js';

/** Characters `encodeURIComponent` escapes that a query value may carry as they are. */
const KEPT_RAW: Readonly<Record<string, string>> = { '%2C': ',', '%2F': '/', '%3A': ':', '%3D': '=', '%40': '@' };

/** The one spelling of a query name or value. */
export function encodeQueryComponent(text: string): string {
  return encodeURIComponent(text).replace(/%2C|%2F|%3A|%3D|%40/g, (escape) => KEPT_RAW[escape] ?? escape);
}

/** Why the raw query (without `?`) is not in its one spelling; empty when it is. */
export function querySpellingProblems(rawQuery: string): Problem[] {
  if (rawQuery === '') return [];
  const problems: Problem[] = [];
  for (const pair of rawQuery.split('&')) {
    if (pair === '') {
      problems.push({ param: 'query', message: 'has an empty parameter (a stray "&")' });
      continue;
    }
    const at = pair.indexOf('=');
    const [rawName, rawValue] = at === -1 ? [pair, undefined] : [pair.slice(0, at), pair.slice(at + 1)];
    const name = decode(rawName);
    const value = rawValue === undefined ? undefined : decode(rawValue);
    if (name === null || value === null) problems.push({ param: name ?? rawName, message: 'has malformed percent-encoding' });
    else if (encodeQueryComponent(name) !== rawName) problems.push({ param: name, message: `its name must be written ${encodeQueryComponent(name)}` });
    else if (value !== undefined && encodeQueryComponent(value) !== rawValue) {
      problems.push({ param: name, message: `must be written ${name}=${encodeQueryComponent(value)}` });
    }
  }
  return problems;
}

/** Percent-decoding as URLSearchParams does it (`+` is a space), or null when malformed. */
function decode(raw: string): string | null {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
