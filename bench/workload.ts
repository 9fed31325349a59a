/**
 * What the benchmark asks for: the shipped presets, the Accept headers of the three client kinds,
 * and the request sequences of the scenarios. Everything is seeded, so `limit` and `cold` see
 * exactly the same transforms in the same order, and two runs send the same traffic.
 */

/**
 * The shipped presets (presets/default-presets.ts) in plain parameters. `cold`, `overload` and
 * `limit` need variants nobody made before, which a preset cannot express (most allow only `dpr`
 * and `fm`), so they use these parameters with a shifted width. Per-preset qualities (avatar,
 * full) are not expressible as one `q` for a negotiated format; those requests use the formats'
 * default qualities.
 */
export const PRESETS = {
  thumb: 'w=200&h=200&fit=cover&pos=attention',
  avatar: 'w=96&h=96&fit=cover&pos=attention',
  feed: 'w=640',
  full: 'w=2048&h=2048',
} as const;
export type PresetName = keyof typeof PRESETS;

/**
 * How `hot` and `social` name a preset: `?preset=<name>`, as apps do. Returning `PRESETS[name]`
 * instead sends the plain parameters (for an origin without presets): the one-line switch.
 */
export function presetQuery(name: PresetName): string {
  return `preset=${name}`;
}

/**
 * A variant of the preset that no earlier request made: the preset's width plus `n`. Only `w`
 * changes (unknown parameters are a 400, so there is no other cache-buster), and the cost stays
 * the preset's.
 */
export function distinctQuery(name: PresetName, n: number): string {
  const params = new URLSearchParams(PRESETS[name]);
  params.set('w', String(Number(params.get('w')) + n));
  return params.toString();
}

export type ClientKind = 'avif' | 'webp' | 'legacy';

/** What browsers of each kind send (the origin reduces Accept to exactly these tokens). */
export const ACCEPT: Readonly<Record<ClientKind, string>> = {
  avif: 'image/avif,image/webp,*/*',
  webp: 'image/webp,*/*',
  legacy: '*/*',
};

/** Content types a correct answer may have: an AVIF client may get WebP when the origin degrades. */
export const ACCEPTABLE_TYPES: Readonly<Record<ClientKind, readonly string[]>> = {
  avif: ['image/avif', 'image/webp'],
  webp: ['image/webp'],
  legacy: ['image/jpeg', 'image/png'],
};

/** Share of traffic per client kind and per preset in a social feed (assumed, not measured). */
export const CLIENT_WEIGHTS: Readonly<Record<ClientKind, number>> = { avif: 0.7, webp: 0.2, legacy: 0.1 };
export const PRESET_WEIGHTS: Readonly<Record<PresetName, number>> = { thumb: 0.3, avatar: 0.2, feed: 0.4, full: 0.1 };

/** One request as the drivers send it and as `limit` reproduces it in-process. */
export interface ImageRequest {
  /** Source key, without the leading slash. */
  readonly key: string;
  readonly query: string;
  readonly client: ClientKind;
  /** Sent as If-None-Match (a CDN revalidating what it holds). */
  readonly etag?: string;
  /** The preset this request's query was drawn from, where the sequence knows it (for per-class figures). */
  readonly preset?: PresetName;
}

export function requestPath(r: Pick<ImageRequest, 'key' | 'query'>): string {
  return `/${r.key.split('/').map(encodeURIComponent).join('/')}?${r.query}`;
}

export function requestHeaders(r: ImageRequest): Record<string, string> {
  return { accept: ACCEPT[r.client], ...(r.etag !== undefined && { 'if-none-match': r.etag }) };
}

// ---------------------------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG, plenty for picking requests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function weightedPick<T extends string>(weights: Readonly<Record<T, number>>, random: () => number): T {
  const entries = Object.entries(weights) as [T, number][];
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let x = random() * total;
  for (const [value, w] of entries) {
    x -= w;
    if (x < 0) return value;
  }
  return (entries[entries.length - 1] as [T, number])[0];
}

/** Ranks 0..n-1 with P(rank k) proportional to 1/(k+1)^s. */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf: number[] = [];
  let total = 0;
  for (let k = 0; k < n; k++) cdf.push((total += 1 / (k + 1) ** s));
  return () => {
    const x = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] ?? Infinity) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * Cold traffic: every request a variant never made before. Images are taken evenly, presets and
 * client kinds by their social weights; each (image, preset, client) combination counts up its
 * width, so no two requests of one sequence share a variant. Same seed, same sequence. Sequences
 * of one seed in different `lane`s (of `lanes`) are the same requests a pixel or so apart in
 * width, sharing no variant: a run and its control can then be compared request for request.
 */
export function coldSequence(keys: readonly string[], seed = 1, lane = 0, lanes = 1): () => ImageRequest {
  const random = seededRandom(seed);
  const uses = new Map<string, number>();
  let i = 0;
  return () => {
    const key = keys[i++ % keys.length] as string;
    const preset = weightedPick(PRESET_WEIGHTS, random);
    const client = weightedPick(CLIENT_WEIGHTS, random);
    const combo = `${key}|${preset}|${client}`;
    const n = (uses.get(combo) ?? 0) + 1;
    uses.set(combo, n);
    return { key, query: distinctQuery(preset, (n - 1) * lanes + lane + 1), client, preset };
  };
}

/** Share of repeat requests sent as a CDN revalidation (If-None-Match with the ETag it holds). */
export const REVALIDATION_SHARE = 0.1;

/**
 * Social traffic: Zipf popularity (s = 1) over the images, presets and client kinds by weight.
 * A request for a URL answered before is, now and then, a revalidation carrying its ETag;
 * `remember` records the ETags of 200 answers.
 */
export function socialSequence(keys: readonly string[], seed = 2) {
  const random = seededRandom(seed);
  const rank = zipfSampler(keys.length, 1, random);
  const etags = new Map<string, string>();
  const id = (r: ImageRequest) => `${r.client} ${r.key}?${r.query}`;
  return {
    next(): ImageRequest {
      const key = keys[rank()] as string;
      const request: ImageRequest = {
        key,
        query: presetQuery(weightedPick(PRESET_WEIGHTS, random)),
        client: weightedPick(CLIENT_WEIGHTS, random),
      };
      const etag = etags.get(id(request));
      return etag !== undefined && random() < REVALIDATION_SHARE ? { ...request, etag } : request;
    },
    remember(request: ImageRequest, etag: string | undefined): void {
      if (etag !== undefined) etags.set(id(request), etag);
    },
  };
}

// ---------------------------------------------------------------------------------------------

/** What one `soak` request is: good (new variant or repeat), bad input, or a client hanging up. */
export type SoakKind = 'good-new' | 'good-repeat' | 'bad-params' | 'bad-key' | 'bad-file' | 'hangup-abort' | 'hangup-close';

/** Bad input: the origin must answer every one with a 4xx, never a 5xx (unless storage failed). */
export const BAD_INPUT_KINDS: ReadonlySet<SoakKind> = new Set(['bad-params', 'bad-key', 'bad-file']);

/** Shares of the soak's arrivals. */
export const SOAK_MIX: Readonly<Record<SoakKind, number>> = {
  'good-new': 0.1,
  'good-repeat': 0.4,
  'bad-params': 0.2,
  'bad-key': 0.05,
  'bad-file': 0.15,
  'hangup-abort': 0.05,
  'hangup-close': 0.05,
};

/**
 * Queries the origin refuses (400) on a key that exists: unknown parameters, values out of range,
 * and spellings that are not the one canonical spelling of a URL.
 */
export const BAD_QUERIES: readonly string[] = [
  'w=100&foo=1', // unknown parameter
  'width=100', // unknown parameter (the origin says w)
  'w=0', // out of range
  'w=99999', // out of range
  'h=-5', // out of range
  'q=101', // out of range
  'dpr=9', // out of range
  'fit=sideways', // not a value of the enum
  'fm=bmp', // not an output format
  'w=abc', // not a number
  'w=0100', // leading zero: not canonical
  'w=100.0', // trailing decimal zero: not canonical
  'w=100&&', // empty pair
  'w=100&w=200', // repeated parameter
  'w=%31%30%30', // needless percent-encoding
  'preset=nope', // unknown preset
];

/** Paths (sent as they are) whose key the origin refuses (400), or that name nothing (404). */
export const BAD_PATHS: readonly { readonly path: string; readonly key: string; readonly badOnceRead?: true }[] = [
  { path: '/..%2f..%2fetc%2fpasswd?w=100', key: '../../etc/passwd' },
  { path: '/base/..%2f..%2fsecret.jpg?w=100', key: 'base/../../secret.jpg' },
  { path: '/%2e%2e/%2e%2e/etc/passwd?w=100', key: '../../etc/passwd' },
  { path: '/base/%zz.jpg?w=100', key: 'base/%zz.jpg' },
  { path: '/base/photo%00.jpg?w=100', key: 'base/photo\u0000.jpg' },
  { path: '/base/missing.jpg?w=100', key: 'base/missing.jpg', badOnceRead: true },
];

export interface SoakRequest extends ImageRequest {
  readonly kind: SoakKind;
  /** What it tests, for the report: the query, the path, the bad file's kind, the preset. */
  readonly label: string;
  /** Sent as is instead of `requestPath` (bad keys `requestPath` would encode again). */
  readonly path?: string;
  /** hangup-abort: the client aborts this many ms after sending. */
  readonly abortAfterMs?: number;
  /**
   * Bad input the origin can only know is bad once storage answered (a bad file, a missing key):
   * shed before that (503 OVERLOADED) is a load response, not bad input mishandled.
   */
  readonly badOnceRead?: true;
}

/** Where `soak` sends its traffic. */
export interface SoakKeys {
  /** Good new variants: counted up round-robin over these (originals mostly come from storage). */
  readonly newKeys: readonly string[];
  /** Good repeats (Zipf, with revalidations) and the key bad parameters are sent to. */
  readonly repeatKeys: readonly string[];
  readonly badFiles: readonly { readonly kind: string; readonly key: string }[];
}

/**
 * The soak's traffic: each arrival's kind drawn by `SOAK_MIX`, then its request. New variants
 * (for good-new, and the hang-ups that must catch the origin mid-transform) all come from one
 * `coldSequence`, so none repeats another; repeats from one `socialSequence` over few keys, so
 * they are hits and 304s. Same seed, same requests.
 */
export function soakSequence(keys: SoakKeys, seed = 31) {
  const random = seededRandom(seed);
  const fresh = coldSequence(keys.newKeys, seed + 1);
  const repeats = socialSequence(keys.repeatKeys, seed + 2);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const client = () => weightedPick(CLIENT_WEIGHTS, random);
  const next = (): SoakRequest => {
    const kind = weightedPick(SOAK_MIX, random);
    switch (kind) {
      case 'good-new':
        return { ...fresh(), kind, label: 'new variant' };
      case 'good-repeat': {
        const request = repeats.next();
        return { ...request, kind, label: request.etag === undefined ? request.query : `${request.query} (revalidation)` };
      }
      case 'bad-params': {
        const query = pick(BAD_QUERIES);
        return { key: pick(keys.repeatKeys), query, client: client(), kind, label: query };
      }
      case 'bad-key': {
        const bad = pick(BAD_PATHS);
        return { key: bad.key, query: 'w=100', client: client(), kind, label: bad.path, path: bad.path, ...(bad.badOnceRead && { badOnceRead: true }) };
      }
      case 'bad-file': {
        const file = pick(keys.badFiles);
        const query = random() < 0.5 ? presetQuery(weightedPick(PRESET_WEIGHTS, random)) : `w=${100 + Math.floor(random() * 900)}`;
        return { key: file.key, query, client: client(), kind, label: file.kind, badOnceRead: true };
      }
      case 'hangup-abort':
        return { ...fresh(), kind, label: 'abort after a few ms', abortAfterMs: 2 + Math.floor(random() * 28) };
      case 'hangup-close': {
        // Half new (the body streams after a transform), half the largest repeat variant.
        const request: ImageRequest =
          random() < 0.5 ? fresh() : { key: pick(keys.repeatKeys), query: presetQuery('full'), client: client() };
        return { ...request, kind, label: 'socket closed mid-body' };
      }
    }
  };
  return { next, remember: (request: ImageRequest, etag: string | undefined) => repeats.remember(request, etag) };
}
