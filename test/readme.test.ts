/**
 * The README's parameter table is derived from the parameter table (`transforms/params.ts`): it
 * must list exactly its rows, in its order, with its documentation. On a mismatch the expected
 * Markdown is printed, ready to paste. Its configuration table names exactly the variables of the
 * config schema.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ENV_VARIABLES } from '../origin/config.js';
import { PARAM_NAMES, PARAMS } from '../transforms/params.js';
import { PROJECT_ROOT } from '../support/paths.js';

function parameterTable(): string {
  const rows = PARAM_NAMES.map((name) => {
    const { values, default: fallback, meaning } = PARAMS[name].doc;
    return `| \`${name}\` | ${values} | ${fallback} | ${meaning} |`;
  });
  return ['| parameter | values | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

test('the README lists exactly the parameter table, with its documentation', async () => {
  const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const expected = parameterTable();
  assert.ok(readme.includes(`${expected}\n`), `README.md's parameter table should read:\n\n${expected}\n`);
});

test('the README configuration table lists exactly the variables the origin reads', async () => {
  const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Operations'));
  const documented = section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...(line.split(' | ')[0] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!));
  // UV_THREADPOOL_SIZE is read by Node itself before the origin starts, so no schema holds it.
  const readByNode = ['UV_THREADPOOL_SIZE'];
  assert.deepEqual([...documented].sort(), [...ENV_VARIABLES, ...readByNode].sort());
});
