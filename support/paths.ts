/**
 * Paths test/ and bench/ share, resolved from the project root whether running from the sources or
 * from dist/ (support/ sits beside test/ and bench/, so bench never imports from test/).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));
export const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures');
export const SAMPLES = path.join(PROJECT_ROOT, 'samples');
/** The committed test images (read-only; see its SOURCES.md, and support/corpus.ts for the generated ones). */
export const CORPUS = path.join(PROJECT_ROOT, 'support', 'corpus');
export const fixture = (name: string): string => path.join(FIXTURES, name);
