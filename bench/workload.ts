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
 * width, so no two requests of one sequence share a variant. Same seed, same sequence.
 */
export function coldSequence(keys: readonly string[], seed = 1): () => ImageRequest {
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
    return { key, query: distinctQuery(preset, n), client };
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
