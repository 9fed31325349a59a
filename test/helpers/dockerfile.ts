/**
 * Reads a Dockerfile and a .dockerignore the way Docker does, far enough to replay a build without
 * a Docker engine (test/docker.test.ts): stages with their instructions, exec-form JSON, ENV pairs,
 * COPY flags, HEALTHCHECK options, RUN commands split at their top-level `&&`, and the
 * .dockerignore rules (Go filepath.Match patterns anchored at the context root, `**`, `!`).
 * Anything outside that subset is an error naming the line, never a silent guess.
 */

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, … */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  readonly args: string;
  /** 1-based line of the keyword. */
  readonly line: number;
}

export interface Stage {
  readonly name: string;
  readonly image: string;
  readonly instructions: readonly Instruction[];
}

/** Splits a Dockerfile into stages (comments and line continuations handled). */
export function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!;
    if (/^\s*(#.*)?$/.test(first)) continue; // blank, comment or parser directive
    const start = i;
    let joined = '';
    let current = first;
    for (;;) {
      const continued = /\\\s*$/.test(current);
      joined += continued ? current.replace(/\\\s*$/, ' ') : current;
      if (!continued) break;
      // Comment lines inside a continuation are dropped, as Docker does.
      do i++;
      while (i < lines.length && /^\s*#/.test(lines[i]!));
      if (i >= lines.length) break;
      current = lines[i]!;
    }
    const match = /^\s*(\S+)\s*(.*)$/.exec(joined)!;
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start + 1 });
  }
  const stages: { name: string; image: string; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name, ...rest] = instruction.args.split(/\s+/);
      if (!image || image.startsWith('--') || rest.length > 0 || (as !== undefined && as.toUpperCase() !== 'AS')) {
        throw new Error(`line ${instruction.line}: FROM ${instruction.args}: expected "FROM <image> [AS <name>]"`);
      }
      stages.push({ name: name ?? String(stages.length), image, instructions: [] });
    } else if (instruction.keyword === 'ARG' && stages.length === 0) {
      throw new Error(`line ${instruction.line}: ARG before FROM is not replayed`);
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** `["a", "b"]` (exec form) or undefined when the arguments are in shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) throw new Error(`not a JSON string array: ${args}`);
  return parsed;
}

/**
 * Shell-like words: whitespace-separated, with '…' and "…" quoting and backslash escapes (which
 * is how Docker reads ENV, COPY and other non-RUN arguments).
 */
export function words(text: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated quote in: ${text}`);
  if (inWord) out.push(word);
  return out;
}

/** ENV a=1 b="two words" (or the legacy `ENV key value`). */
export function parseEnv(args: string): Record<string, string> {
  const parts = words(args);
  if (parts.length > 0 && !parts[0]!.includes('=')) {
    const [key, ...value] = args.trim().split(/\s+/);
    return { [key!]: value.join(' ') };
  }
  return Object.fromEntries(
    parts.map((part) => {
      const at = part.indexOf('=');
      if (at <= 0) throw new Error(`ENV: "${part}" is not key=value`);
      return [part.slice(0, at), part.slice(at + 1)];
    }),
  );
}

/** Leading `--name=value` flags of COPY/ADD/HEALTHCHECK/RUN, and what follows them. */
export function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args.trim();
  for (;;) {
    const match = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
    if (!match) return { flags, rest };
    flags[match[1]!] = match[2] ?? 'true';
    rest = rest.slice(match[0].length);
  }
}

/** COPY [--from=stage] [--chown=…] src… dest */
export function parseCopy(args: string): { from?: string; sources: string[]; destination: string; flags: Record<string, string> } {
  const { flags, rest } = splitFlags(args);
  const parts = execForm(rest) ?? words(rest);
  if (parts.length < 2) throw new Error(`COPY ${args}: needs a source and a destination`);
  const destination = parts.at(-1)!;
  const sources = parts.slice(0, -1);
  for (const source of sources) {
    if (/[*?[]/.test(source)) throw new Error(`COPY ${args}: wildcards are not replayed; name the files`);
  }
  return { ...(flags.from !== undefined && { from: flags.from }), sources, destination, flags };
}

/** HEALTHCHECK [--interval=…] CMD … (exec or shell form), or NONE. */
export function parseHealthcheck(args: string): { options: Record<string, string>; command: string[] | string } | 'NONE' {
  if (args.trim().toUpperCase() === 'NONE') return 'NONE';
  const { flags, rest } = splitFlags(args);
  const match = /^CMD\s+([\s\S]*)$/i.exec(rest);
  if (!match) throw new Error(`HEALTHCHECK ${args}: expected CMD`);
  return { options: flags, command: execForm(match[1]!) ?? match[1]!.trim() };
}

/** A shell command line split at `&&` outside quotes and `$(…)`; other operators are refused. */
export function splitAndList(command: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  let depth = 0; // $( … ) nesting
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') current += command[i++] ?? '';
      current += c;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '$' && command[i + 1] === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0 && c === '&' && command[i + 1] === '&') {
      parts.push(current.trim());
      current = '';
      i++;
      continue;
    } else if (depth === 0 && (c === ';' || c === '|' || c === '&' || c === '\n')) {
      throw new Error(`RUN ${command}: only commands joined with && are replayed (found "${c}")`);
    }
    current += c;
  }
  if (quote) throw new Error(`RUN ${command}: unterminated quote`);
  parts.push(current.trim());
  return parts.filter(Boolean);
}

/** apt-get install's package names (flags dropped). */
export function aptInstallPackages(command: string): string[] {
  const parts = words(command);
  const at = parts.indexOf('install');
  if (parts[0] !== 'apt-get' || at === -1) return [];
  return parts.slice(at + 1).filter((part) => !part.startsWith('-'));
}

/**
 * The .dockerignore rules as a predicate over context-relative paths ("a/b/c", forward slashes).
 * A rule matching a folder excludes everything in it; the last matching rule wins, so `!` rules
 * re-include. `hasExceptions` tells the caller it must not skip excluded folders wholesale.
 */
export function dockerignore(text: string): { excluded(relativePath: string): boolean; hasExceptions: boolean } {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = cleanPattern(negated ? line.slice(1).trim() : line);
      return { negated, regex: patternToRegExp(pattern) };
    });
  return {
    hasExceptions: rules.some((rule) => rule.negated),
    excluded(relativePath) {
      const segments = relativePath.split('/');
      // The path itself or any folder above it.
      const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
      let excluded = false;
      for (const rule of rules) {
        if (candidates.some((candidate) => rule.regex.test(candidate))) excluded = !rule.negated;
      }
      return excluded;
    },
  };
}

function cleanPattern(pattern: string): string {
  const parts: string[] = [];
  for (const part of pattern.replace(/^\/+/, '').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

function patternToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches any number of folders (including none); a trailing `**` anything.
      if (pattern[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) throw new Error(`.dockerignore: unclosed [ in ${pattern}`);
      source += `[${pattern.slice(i + 1, end).replace(/^!/, '^')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
