/**
 * The OSS argument grammar every operation reader shares. A segment is `op,arg,arg…`; an argument
 * is `k_v` (keyed operations such as `resize,w_100`) or a bare value (`rotate,90`). Each operation
 * declares its keys and their types once, as a schema of `ArgType`s; `readArgs` refuses unknown,
 * repeated and malformed keys and gives back a reader typed by that schema, so a key can only be
 * read under a declared name and as its declared type, and each problem names `op.key`.
 */
import type { Problem } from '../../../transforms/errors.js';
import type { Gravity } from '../../../transforms/params.js';

/** Every problem of one `x-oss-process` value, gathered so that all are reported at once. */
export class Problems {
  readonly list: Problem[] = [];
  add(param: string, message: string): undefined {
    this.list.push({ param, message });
    return undefined;
  }
}

/** How one argument value is read: its value, or undefined after a problem naming `param`. */
export interface ArgType<T> {
  read(param: string, raw: string, problems: Problems): T | undefined;
}

/** The declared keys of one operation and how each value is read. */
export type Schema<V> = { readonly [K in keyof V]: ArgType<V[K]> };

/** The reader `readArgs` gives back for a schema constant (`ArgsOf<typeof RESIZE_ARGS>`). */
export type ArgsOf<S> = Args<{ [K in keyof S]: S[K] extends ArgType<infer T> ? T : never }>;

function wholeNumber(pattern: RegExp, min: number, max: number, range: string): ArgType<number> {
  return {
    read(param, raw, problems) {
      if (!pattern.test(raw)) return problems.add(param, 'must be a whole number');
      const n = Number(raw);
      // One spelling per result: `w_0100` and `w_100` would be two CDN entries of one image.
      if (String(n) !== raw) return problems.add(param, `must be written as ${n}`);
      if (n < min || n > max) return problems.add(param, `must be ${range}`);
      return n;
    },
  };
}

/** A whole number from `min` to `max`, digits only (at most six). */
export const int = (min: number, max: number): ArgType<number> => wholeNumber(/^\d{1,6}$/, min, max, `${min}-${max}`);

/** A whole number from `min` to `max` that may carry a minus sign. */
export const signedInt = (min: number, max: number): ArgType<number> => wholeNumber(/^-?\d{1,6}$/, min, max, `${min}…${max}`);

/** `0` or `1`. */
export const FLAG: ArgType<boolean> = {
  read: (param, raw, problems) => (raw === '0' || raw === '1' ? raw === '1' : problems.add(param, 'must be 0 or 1')),
};

/** Any text, as written (the operation reads it further). */
export const TEXT: ArgType<string> = { read: (_param, raw) => raw };

/** Six hex digits, lower-cased; `example` is the spelling the message shows. */
export const colour = (example: string): ArgType<string> => ({
  read: (param, raw, problems) =>
    /^[0-9a-fA-F]{6}$/.test(raw) ? raw.toLowerCase() : problems.add(param, `must be an RGB hex colour like ${example}`),
});

/** `table[key]` for the table's own keys only (never `constructor` or `__proto__`). */
export function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** One of the spellings `table` maps (to the value it maps it to). */
export const oneOf = <T>(table: Readonly<Record<string, T>>): ArgType<T> => ({
  read: (param, raw, problems) => lookup(table, raw) ?? problems.add(param, `must be one of ${Object.keys(table).join(', ')}`),
});

/** OSS crop and watermark anchors → native `Gravity`. */
export const GRAVITY = oneOf<Gravity>({
  nw: 'nw', north: 'n', ne: 'ne', west: 'w', center: 'c', east: 'e', sw: 'sw', south: 's', se: 'se',
});

/** The `k_v` arguments of one operation, read by declared key and type. */
export class Args<V> {
  constructor(
    private readonly op: string,
    private readonly schema: Schema<V>,
    private readonly raw: ReadonlyMap<keyof V, string>,
    private readonly problems: Problems,
  ) {}

  /** What a problem about `key` names: `op.key`. */
  param(key: keyof V & string): string {
    return `${this.op}.${key}`;
  }

  has(key: keyof V): boolean {
    return this.raw.has(key);
  }

  /** The value as written, for messages. */
  written(key: keyof V): string | undefined {
    return this.raw.get(key);
  }

  /** The value read as declared: `fallback` when the key is absent, undefined (and a problem) when malformed. */
  get<K extends keyof V & string>(key: K, fallback?: V[K]): V[K] | undefined {
    const raw = this.raw.get(key);
    return raw === undefined ? fallback : this.schema[key].read(this.param(key), raw, this.problems);
  }

  /** `get` for a key the operation cannot do without: absent is the problem `needs key_`. */
  require<K extends keyof V & string>(key: K): V[K] | undefined {
    return this.has(key) ? this.get(key) : this.problems.add(this.op, `needs ${key}_`);
  }

  /** Whether any of `keys` is given; when none is, the problem `needs a_ or b_`. */
  requireAny(keys: readonly (keyof V & string)[]): boolean {
    if (keys.some((key) => this.has(key))) return true;
    this.problems.add(this.op, `needs ${keys.map((key) => `${key}_`).join(' or ')}`);
    return false;
  }

  /** A problem `message` for each of `keys` that is given. */
  refuse(keys: readonly (keyof V & string)[], message: string): void {
    for (const key of keys) if (this.has(key)) this.problems.add(this.param(key), message);
  }
}

function isKey<V>(schema: Schema<V>, key: string): key is keyof V & string {
  return Object.hasOwn(schema, key);
}

/** The `k_v` arguments of `op`; undefined when any is unknown, repeated or not `k_v` (each a problem). */
export function readArgs<V>(op: string, args: readonly string[], schema: Schema<V>, problems: Problems): Args<V> | undefined {
  const raw = new Map<keyof V, string>();
  let ok = true;
  for (const arg of args) {
    const underscore = arg.indexOf('_');
    const key = underscore < 0 ? arg : arg.slice(0, underscore);
    if (underscore <= 0) {
      problems.add(op, `"${arg}" is not a key_value parameter`);
      ok = false;
    } else if (!isKey(schema, key)) {
      problems.add(`${op}.${key}`, 'unknown or unsupported parameter');
      ok = false;
    } else if (raw.has(key)) {
      problems.add(`${op}.${key}`, 'given more than once');
      ok = false;
    } else raw.set(key, arg.slice(underscore + 1));
  }
  return ok ? new Args(op, schema, raw, problems) : undefined;
}

/** The value of an operation written `op,value`, read as `type` (problems name `op`). */
export function readValue<T>(op: string, args: readonly string[], type: ArgType<T>, problems: Problems): T | undefined {
  const [value] = args;
  if (args.length !== 1 || value === undefined || value === '') return problems.add(op, 'takes exactly one value');
  return type.read(op, value, problems);
}

/** OSS's URL-safe base64 (`-`, `_`, padding usually omitted) of UTF-8; undefined when it is not. */
export function decodeBase64Url(value: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(value)) return undefined;
  const body = value.replace(/=+$/, '');
  if (body.length % 4 === 1) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(body, 'base64url'));
  } catch {
    return undefined;
  }
}
