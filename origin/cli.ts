#!/usr/bin/env node
/**
 * `image-origin sign "/photos/a.jpg?w=400" [--key KEY] [--expires-in SECONDS] [--base URL]`
 * prints the signed path and query (or full URL with --base). The key defaults to the first entry
 * of ORIGIN_SIGNING_KEYS.
 * `image-origin edge --target <cdn>` prints the CDN's request normalisation (format token, snapped
 * client hints) generated from the origin's configuration in the environment (origin/edge/).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { EDGE_TARGETS, edgeRulesFor, generateEdge, isEdgeTarget } from './edge/generate.js';
import { fillRecipe } from './edge/recipes.js';
import { signPathAndQuery } from './signing.js';

const USAGE = `usage: image-origin sign "<path?query>" [--key KEY] [--expires-in SECONDS] [--base URL]
       image-origin edge --target ${EDGE_TARGETS.join('|')} [--into RECIPE]

sign: prints the path and query with "sig" appended (and "exp" with --expires-in).
The key is --key, or else the first entry of ORIGIN_SIGNING_KEYS.
edge: prints the CDN code that reduces Accept to the format token and snaps the client hints,
from ORIGIN_DPR_STEPS, ORIGIN_WIDTH_STEPS and ORIGIN_PRESETS in the environment. With --into,
prints that recipe (e.g. deploy/cdn/nginx.conf) with its "# BEGIN image-origin edge" parts filled.`;

function fail(message: string): never {
  process.stderr.write(`image-origin: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function main(argv: readonly string[]): void {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      'expires-in': { type: 'string' },
      base: { type: 'string' },
      target: { type: 'string' },
      into: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [command, target, ...extra] = positionals;
  if (command === 'edge') {
    if (target !== undefined) fail(`edge takes no positional arguments, got "${target}"`);
    const name = values.target;
    if (name === undefined) fail(`edge needs --target (${EDGE_TARGETS.join(', ')})`);
    if (!isEdgeTarget(name)) fail(`unknown --target "${name}" (one of ${EDGE_TARGETS.join(', ')})`);
    const rules = edgeRulesFor(loadConfig(process.env));
    const into = values.into;
    process.stdout.write(into === undefined ? generateEdge(name, rules) : fillRecipe(readFileSync(into, 'utf8'), name, rules));
    return;
  }
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
