/**
 * support/system.ts: a suite whose system requirement is missing is skipped with the line naming
 * the Debian package to install, and under CI=true fails with that same line. Run in child
 * processes with the environment set explicitly, since this process may itself run under CI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../support/paths.js';

const SYSTEM = pathToFileURL(path.join(PROJECT_ROOT, 'dist', 'support', 'system.js')).href;

function requireInChild(requirements: object[], ci: string | undefined) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'CI'));
  const script = `import(${JSON.stringify(SYSTEM)}).then((m) => console.log(JSON.stringify(m.requireSystem(...${JSON.stringify(requirements)}))))`;
  return spawnSync(process.execPath, ['-e', script], { env: { ...env, ...(ci !== undefined && { CI: ci }) }, encoding: 'utf8' });
}

const MISSING = { program: 'image-origin-no-such-program', debianPackage: 'image-origin-no-such-package' };
const REASON = 'needs image-origin-no-such-program on PATH: apt-get install image-origin-no-such-package';

test('a missing program is a skip naming the Debian package, off CI', () => {
  const run = requireInChild([MISSING], undefined);
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(Object.entries(JSON.parse(run.stdout) as object), [['skip', REASON]]);
});

test('under CI=true the same requirement is a failure with the same line', () => {
  const run = requireInChild([MISSING], 'true');
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, new RegExp(`Error: ${REASON}`));
});

test('a present requirement is no skip, in CI or not', () => {
  for (const ci of [undefined, 'true']) {
    const run = requireInChild([{ program: 'node', debianPackage: 'nodejs' }, { file: process.execPath, debianPackage: 'nodejs' }], ci);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(Object.entries(JSON.parse(run.stdout) as object), [['skip', false]]);
  }
});
