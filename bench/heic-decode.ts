/**
 * HEIC decode cost: what an iPhone photo adds to a transform before sharp sees it.
 *
 *   npm run build && node dist/bench/heic-decode.js [--reps N]
 *
 * Decodes the corpus HEIC (1600×1000, HEVC; no HEVC encoder is at hand to make larger ones), so
 * the figures are per megapixel of it. Reports:
 *
 *   - cold ms:  the first decode of the process: starting the worker thread, loading and
 *               compiling libheif's wasm, decoding (what the first HEIC after start-up pays);
 *   - wasm ms/MP: median of the warm decodes in the worker (libheif alone, RGBA out);
 *   - input ms/MP: median of the whole conversion (decode, opacity check, uncompressed PNG with
 *               its profile), i.e. the extra cost of a HEIC source against a JPEG one;
 *   - jpeg ms/MP: for scale, sharp decoding the JPEG twin of the same scene at full size.
 *
 * One decode at a time, on a machine that may be shared: indicative figures.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { readCorpus } from '../support/corpus.js';
import { decodeHeic } from '../transforms/heic/decode-heic.js';
import { heicToSharpInput } from '../transforms/heic/heic-input.js';
import { DEFAULT_LIMITS } from '../transforms/limits.js';
import { flagValue } from './flag.js';

const reps = Number(flagValue('--reps')) || 7;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

const heic = await readCorpus('formats/photo-hevc.heic');
const twin = await readCorpus('photos/evening-glow-baseline.jpg');
const { width = 0, height = 0 } = await sharp(heic).metadata();
const megapixels = (width * height) / 1e6;
const twinMeta = await sharp(twin).metadata();
const twinMegapixels = (twinMeta.width * twinMeta.height) / 1e6;

const cold = await timed(() => decodeHeic(heic, DEFAULT_LIMITS));
const wasm: number[] = [];
const input: number[] = [];
const jpeg: number[] = [];
for (let i = 0; i < reps; i++) {
  wasm.push(await timed(() => decodeHeic(heic, DEFAULT_LIMITS)));
  input.push(await timed(() => heicToSharpInput(heic, DEFAULT_LIMITS)));
  jpeg.push(await timed(() => sharp(twin).raw().toBuffer()));
}

const row = {
  machine: `${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}, load ${os.loadavg()[0]!.toFixed(1)}`,
  node: process.version,
  source: `${width}x${height} HEIC (${megapixels.toFixed(2)} MP)`,
  coldMs: Math.round(cold),
  wasmMsPerMp: Math.round(median(wasm) / megapixels),
  inputMsPerMp: Math.round(median(input) / megapixels),
  jpegMsPerMp: Math.round(median(jpeg) / twinMegapixels),
  reps,
};
console.log(JSON.stringify(row, null, 2));
