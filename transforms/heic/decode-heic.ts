/**
 * The main thread's side of the HEIC decoder: one worker thread (`decode-worker.ts`), started
 * when the first HEIC arrives, never at start-up (the wasm module costs start-up time), and
 * decoding one file at a time. A decode that passes the transform timeout ends the thread (the
 * next HEIC starts a new one); so does a large image, so that the wasm heap it grew is returned.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { InternalError, TransformTimeoutError, UnprocessableImageError } from '../errors.js';
import type { TransformLimits } from '../limits.js';
import type { DecodeAnswer, DecodeRequest } from './decode-worker.js';

/** RGBA, 4 channels, as libheif renders the primary image (its rotation and mirroring applied). */
export interface HeicPixels {
  readonly width: number;
  readonly height: number;
  readonly data: Buffer;
}

/** Above this many pixels the worker is ended after the decode: wasm memory only ever grows. */
const RECYCLE_AFTER_PIXELS = 16_000_000;

let worker: Worker | undefined;
let queue: Promise<unknown> = Promise.resolve();
let lastId = 0;

/**
 * The worker's file, in tsc's output: beside this module, or, when this module is part of the
 * bundled process entry (`dist/origin/main.js` and `dist/origin/chunks/`, package.json "bundle"),
 * found from there. The worker itself is never bundled: it loads libheif with its own require.
 */
const WORKER_FILES = ['./decode-worker.js', '../../transforms/heic/decode-worker.js', '../../../transforms/heic/decode-worker.js'];

function startWorker(): Worker {
  const file = WORKER_FILES.map((candidate) => new URL(candidate, import.meta.url)).find((url) => existsSync(url));
  if (!file) throw new InternalError('the HEIC decoder thread (transforms/heic/decode-worker.js) is missing from the build');
  const started = new Worker(file);
  // An idle decoder never keeps the process alive.
  started.unref();
  return started;
}

function retire(thread: Worker): void {
  if (worker === thread) worker = undefined;
  void thread.terminate();
}

function decodeOnWorker(bytes: Buffer, limits: TransformLimits): Promise<HeicPixels> {
  return new Promise((resolve, reject) => {
    const thread = (worker ??= startWorker());
    const id = ++lastId;
    const cleanup = () => {
      clearTimeout(timer);
      thread.off('message', onMessage);
      thread.off('error', onFailure);
      thread.off('exit', onFailure);
    };
    const timer = setTimeout(() => {
      cleanup();
      retire(thread);
      reject(new TransformTimeoutError(`HEIC decode took longer than the ${limits.timeoutSeconds}-second transform limit`));
    }, limits.timeoutSeconds * 1000);
    function onMessage(answer: DecodeAnswer) {
      if (answer.id !== id) return;
      cleanup();
      if ('error' in answer) {
        reject(
          answer.tooLarge
            ? new UnprocessableImageError('IMAGE_TOO_LARGE', answer.error)
            : new UnprocessableImageError('UNREADABLE_IMAGE', 'source image cannot be decoded', new Error(answer.error)),
        );
        return;
      }
      if (answer.width * answer.height > RECYCLE_AFTER_PIXELS) retire(thread);
      resolve({ width: answer.width, height: answer.height, data: Buffer.from(answer.data.buffer, answer.data.byteOffset, answer.data.byteLength) });
    }
    function onFailure(error: unknown) {
      cleanup();
      retire(thread);
      reject(new UnprocessableImageError('UNREADABLE_IMAGE', 'source image cannot be decoded', error));
    }
    thread.on('message', onMessage);
    thread.once('error', onFailure);
    thread.once('exit', onFailure);
    const request: DecodeRequest = { id, bytes, maxPixels: limits.maxInputPixels };
    thread.postMessage(request);
  });
}

/** Decodes the primary image of a HEIC file, after the decodes already waiting. */
export function decodeHeic(bytes: Buffer, limits: TransformLimits): Promise<HeicPixels> {
  const run = queue.then(() => decodeOnWorker(bytes, limits));
  queue = run.catch(() => undefined);
  return run;
}
