/**
 * The README's command line, run exactly the way it shows: `npx image-origin sign "/photos/a.jpg?w=400"
 * [--key KEY] [--expires-in 3600] [--base https://img.example.com]` in the project root, as a fresh
 * clone has it after `npm ci` (which builds through `prepare`). What it prints must verify.
 * npm_config_yes=false only stops npx from ever fetching a package of that name from the registry
 * when the project's own bin is not found: then the test fails instead.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { computeSignature, verifySignature } from '../origin/signing.js';
import { PROJECT_ROOT } from '../support/paths.js';

const KEY = 'cli-test-key-0123456789abcdef';

function npx(args: readonly string[]): string {
  const run = spawnSync('npx', args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, npm_config_yes: 'false', ORIGIN_SIGNING_KEYS: '' },
    encoding: 'utf8',
    shell: process.platform === 'win32', // npx is npx.cmd there
    timeout: 60_000,
  });
  assert.equal(run.status, 0, `npx ${args.join(' ')}: ${run.error?.message ?? ''}${run.stderr}`);
  return run.stdout.trim();
}

/** Splits a printed `/path?query` and checks its signature the way the server does. */
function verifies(printed: string, nowSeconds = Math.floor(Date.now() / 1000)): URLSearchParams {
  const at = printed.indexOf('?');
  const [rawPath, rawQuery] = [printed.slice(0, at), printed.slice(at + 1)];
  const query = new URLSearchParams(rawQuery);
  assert.doesNotThrow(() => verifySignature(rawPath, rawQuery, [KEY], nowSeconds), printed);
  return query;
}

test('the build leaves the CLI executable, as its bin link needs', () => {
  assert.notEqual(statSync(path.join(PROJECT_ROOT, 'dist/origin/cli.js')).mode & 0o111, 0, 'dist/origin/cli.js is executable');
});

test('`npx image-origin sign "/photos/a.jpg?w=400" --key KEY` prints the path with a signature that verifies', () => {
  const printed = npx(['image-origin', 'sign', '/photos/a.jpg?w=400', '--key', KEY]);
  assert.equal(printed, `/photos/a.jpg?w=400&sig=${computeSignature('/photos/a.jpg?w=400', KEY)}`);
  verifies(printed);
});

test('with --expires-in 3600 and --base, the full URL carries exp, and its signature verifies', () => {
  const before = Math.floor(Date.now() / 1000);
  const printed = npx(['image-origin', 'sign', '/photos/a.jpg?w=400', '--key', KEY, '--expires-in', '3600', '--base', 'https://img.example.com']);
  const base = 'https://img.example.com';
  assert.ok(printed.startsWith(`${base}/photos/a.jpg?w=400&exp=`), printed);
  const query = verifies(printed.slice(base.length));
  const exp = Number(query.get('exp'));
  assert.ok(exp >= before + 3600 && exp <= Math.floor(Date.now() / 1000) + 3600, `exp=${exp}`);
  assert.throws(() => verifies(printed.slice(base.length), exp + 1), /expired/i, 'refused once past exp');
});
