/**
 * The HEIC decoder's thread: libheif compiled to WebAssembly (`heic-decode`) runs synchronously,
 * so it gets a worker of its own, which keeps the event loop free and lets a timeout end a
 * decode by ending the thread. The module (and its wasm) is loaded when the first HEIC arrives.
 * Each message is one file; the answer is its primary image as RGBA, or the error's message.
 */
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

interface HeicImage {
  readonly width: number;
  readonly height: number;
  decode(): Promise<{ readonly width: number; readonly height: number; readonly data: Uint8ClampedArray }>;
}
interface HeicImages extends ReadonlyArray<HeicImage> {
  dispose(): void;
}
interface HeicDecode {
  all(input: { buffer: Uint8Array }): Promise<HeicImages>;
}

export interface DecodeRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly maxPixels: number;
}

export type DecodeAnswer =
  | { readonly id: number; readonly width: number; readonly height: number; readonly data: Uint8ClampedArray }
  | { readonly id: number; readonly error: string; readonly tooLarge?: true };

const heic = createRequire(import.meta.url)('heic-decode') as HeicDecode;

async function decodeOne({ id, bytes, maxPixels }: DecodeRequest): Promise<DecodeAnswer> {
  const images = await heic.all({ buffer: bytes });
  try {
    const primary = images[0];
    if (!primary) return { id, error: 'no image in the HEIF file' };
    // libheif has parsed the container (grid and all): the real size, checked before any pixel is decoded.
    if (primary.width * primary.height > maxPixels) {
      return { id, error: `source is ${primary.width}x${primary.height}, above the ${maxPixels}-pixel limit`, tooLarge: true };
    }
    const { width, height, data } = await primary.decode();
    return { id, width, height, data };
  } finally {
    images.dispose();
  }
}

parentPort?.on('message', (request: DecodeRequest) => {
  decodeOne(request).then(
    (answer) => parentPort?.postMessage(answer, 'data' in answer ? [answer.data.buffer as ArrayBuffer] : []),
    (error: unknown) => parentPort?.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
