#!/usr/bin/env node
/**
 * `image-origin sign "/photos/a.jpg?w=400" [--key KEY] [--expires-in SECONDS] [--base URL]`
 * prints the signed path and query (or full URL with --base). The key defaults to the first entry
 * of ORIGIN_SIGNING_KEYS.
 *
 * `image-origin prerender <key>... | --from-file keys.txt` renders ORIGIN_PRERENDER's variants of
 * those keys into the result store (README: "Fleet"); loaded only when asked for.
 */
import { parseArgs } from 'node:util';
import { signPathAndQuery } from './signing.js';

const USAGE = `usage: image-origin sign "<path?query>" [--key KEY] [--expires-in SECONDS] [--base URL]
       image-origin prerender <key>... | --from-file keys.txt

sign: prints the path and query with "sig" appended (and "exp" with --expires-in).
The key is --key, or else the first entry of ORIGIN_SIGNING_KEYS.
prerender: renders the ORIGIN_PRERENDER presets of each key into ORIGIN_RESULT_STORE,
skipping results already stored (so a run resumes); prints a summary.`;

function fail(message: string): never {
  process.stderr.write(`image-origin: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function prerender(argv: readonly string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args: [...argv], allowPositionals: true, options: { 'from-file': { type: 'string' } } });
  const { runPrerenderCli } = await import('./fleet/prerender-cli.js');
  process.exitCode = await runPrerenderCli({ keys: positionals, fromFile: values['from-file'] });
}

function main(argv: readonly string[]): void {
  if (argv[0] === 'prerender') {
    prerender(argv.slice(1)).catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
    return;
  }
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      'expires-in': { type: 'string' },
      base: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [command, target, ...extra] = positionals;
  if (command !== 'sign') fail(command === undefined ? 'missing command' : `unknown command "${command}"`);
  if (target === undefined || extra.length > 0) fail('give exactly one "<path?query>" to sign');
  if (!target.startsWith('/')) fail('the path must start with "/"');
  const key = values.key ?? process.env.ORIGIN_SIGNING_KEYS?.split(',')[0]?.trim();
  if (!key) fail('no key: pass --key or set ORIGIN_SIGNING_KEYS');

  let pathAndQuery = target;
  if (values['expires-in'] !== undefined) {
    if (!/^\d+$/.test(values['expires-in'])) fail('--expires-in takes whole seconds');
    const exp = Math.floor(Date.now() / 1000) + Number(values['expires-in']);
    pathAndQuery += `${target.includes('?') ? '&' : '?'}exp=${exp}`;
  }
  const signed = signPathAndQuery(pathAndQuery, key);
  process.stdout.write(`${values.base?.replace(/\/+$/, '') ?? ''}${signed}\n`);
}

try {
  main(process.argv.slice(2));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
