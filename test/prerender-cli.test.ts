/**
 * `npx image-origin prerender`, run the way the README shows it, against s3rver with a source
 * bucket and a results bucket: it renders the pre-render set, prints done/skipped/failed, and a
 * second run resumes (everything already stored is skipped).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../support/paths.js';
import { startS3rver, type RunningS3rver } from '../support/s3rver.js';

let s3: RunningS3rver;
let dir: string;

before(async () => {
  const photo = await readFile(path.join(PROJECT_ROOT, 'samples', 'evening-glow.jpg'));
  s3 = await startS3rver({ bucket: 'images', otherBuckets: ['results'], objects: { 'a.jpg': photo, 'dir/b c.jpg': photo } });
  dir = await mkdtemp(path.join(os.tmpdir(), 'prerender-cli-'));
});
after(async () => {
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function prerender(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ORIGIN_|S3_|AWS_|RESULT_)/.test(k)));
  // `share` fixes its format and has no dpr: one variant; `avatar`: 3 tokens × 4 DPR steps.
  const env = { ...inherited, ...s3.env(), ORIGIN_RESULT_STORE: 's3://results', ORIGIN_PRERENDER: 'share,avatar', npm_config_yes: 'false' };
  const child = spawn('npx', ['image-origin', 'prerender', ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

test('renders every key, then resumes: the second run skips what is stored', async () => {
  const first = await prerender(['a.jpg', 'dir/b c.jpg']);
  assert.equal(first.status, 0, first.stderr);
  assert.deepEqual(JSON.parse(first.stdout), { keys: 2, done: 26, skipped: 0, failed: 0 });
  assert.match(first.stderr, /2\/2 keys/);
  assert.equal((await s3.listKeys('results')).length, 26);

  const list = path.join(dir, 'keys.txt');
  await writeFile(list, '# backfill\na.jpg\n\ndir/b c.jpg\nmissing.jpg\n');
  const second = await prerender(['--from-file', list]);
  assert.equal(second.status, 1, 'a missing key is a failure');
  assert.deepEqual(JSON.parse(second.stdout), { keys: 3, done: 0, skipped: 26, failed: 13 });
  assert.match(second.stderr, /failed: missing\.jpg/);
});

test('without a result store it says what is missing', async () => {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ORIGIN_|S3_|AWS_|RESULT_)/.test(k)));
  const child = spawn('npx', ['image-origin', 'prerender', 'a.jpg'], { cwd: PROJECT_ROOT, env: { ...inherited, npm_config_yes: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(status, 2);
  assert.match(stderr, /ORIGIN_RESULT_STORE/);
});
