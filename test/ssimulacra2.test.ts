/**
 * The SSIMULACRA2 port against scores from the reference implementation (support/quality/,
 * see its README): every pair within ±0.5, the distorted file decoded by sharp to 8-bit sRGB.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { decodeRgb } from '../transforms/quality/decode-rgb.js';
import { prepareReference, ssimulacra2, ssimulacra2Prepared, type RgbImage } from '../transforms/quality/ssimulacra2.js';
import { PROJECT_ROOT } from '../support/paths.js';

const DIR = path.join(PROJECT_ROOT, 'support', 'quality');
const load = async (name: string) => decodeRgb(await readFile(path.join(DIR, name)));

async function referenceScores(): Promise<{ reference: string; distorted: string; score: number }[]> {
  const rows = (await readFile(path.join(DIR, 'scores.tsv'), 'utf8')).trim().split('\n').slice(1);
  return rows.map((row) => {
    const [reference = '', distorted = '', score = ''] = row.split('\t');
    return { reference, distorted, score: Number(score) };
  });
}

describe('SSIMULACRA2', async () => {
  const rows = await referenceScores();
  test('the reference table is complete', () => assert.equal(rows.length, 24));

  for (const { reference, distorted, score } of rows) {
    test(`${distorted}: ${score} ± 0.5`, async () => {
      const got = ssimulacra2(await load(reference), await load(distorted));
      assert.ok(Math.abs(got - score) <= 0.5, `got ${got.toFixed(4)}, reference ${score}`);
    });
  }

  test('identical images score 100; a prepared reference scores like the one-shot call', async () => {
    const ref = await load('evening-glow-baseline.png');
    assert.equal(ssimulacra2(ref, ref), 100);
    const dist = await load('evening-glow-baseline.webp-q50.webp');
    assert.equal(ssimulacra2Prepared(prepareReference(ref), dist), ssimulacra2(ref, dist));
  });

  test('refuses images of different sizes or layouts', () => {
    const a: RgbImage = { data: new Uint8Array(16 * 16 * 3), width: 16, height: 16 };
    const b: RgbImage = { data: new Uint8Array(16 * 8 * 3), width: 16, height: 8 };
    assert.throws(() => ssimulacra2(a, b), /differ in size/);
    assert.throws(() => ssimulacra2(a, { data: new Uint8Array(10), width: 16, height: 16 }), /3 bytes per pixel/);
  });
});
