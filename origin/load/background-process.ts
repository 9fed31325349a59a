/**
 * The low-priority render process that `background-renderer.ts` starts: it makes the jobs sent to
 * it over IPC, one at a time, at the lowest CPU priority, so the kernel gives the server
 * process's live transforms the cores whenever they want them. On Linux the nice value belongs to
 * each thread, and a new thread takes its creator's: every thread running when this module starts
 * (libuv's pool is among them, started by the module loader) is lowered one by one, so the
 * libvips workers those threads start later are low too.
 */
import { setPriority } from 'node:os';
import type { LossyFormat } from '../../transforms/formats.js';
import type { FromParent, ToParent } from './background-renderer.js';
import { lowerThreads } from './thread-priority.js';

/** The lowest priority a process can give itself without privileges. */
const LOWEST_PRIORITY = 19;

/** Every thread; without /proc (not Linux), the whole process where the platform allows it. */
function lowerEveryThread(): void {
  if (lowerThreads(LOWEST_PRIORITY) !== undefined) return;
  try {
    setPriority(0, LOWEST_PRIORITY);
  } catch {
    // left at the parent's priority
  }
}

lowerEveryThread();
const [{ sharp }, { renderJob }] = await Promise.all([import('../../transforms/sharp.js'), import('./render-job.js')]);
lowerEveryThread(); // and whatever loading sharp started
sharp.cache(false);

const send = (message: ToParent) => process.send?.(message);
const asked = new Map<number, (quality: number | undefined) => void>();
let lastAsk = 0;

/** Autoquality's answer lives with the original in the server process: asked for over IPC. */
const askQuality = (id: number) => (format: LossyFormat, target: number) =>
  new Promise<number | undefined>((resolve) => {
    const ask = ++lastAsk;
    asked.set(ask, resolve);
    send({ type: 'quality', id, ask, format, target });
  });

const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Each job arrives with its own copy of the original (a 12 MP JPEG is 3-5 MB), dead once the job
 * is done. V8 collects such buffers only when enough have piled up, so the process held several
 * at once. Collecting after every job (the parent starts it with --expose-gc; a full collection
 * of this small heap takes 4-6 ms) took its peak from 129 to 106 MB over 36 thumbnails of a 12 MP
 * JPEG (jemalloc, `thumb` at 3 formats x 4 DPRs, 3 rounds).
 */
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

process.on('message', (message: FromParent) => {
  switch (message.type) {
    case 'init':
      if (message.sharpConcurrency > 0) sharp.concurrency(message.sharpConcurrency);
      return;
    case 'quality':
      asked.get(message.ask)?.(message.quality);
      asked.delete(message.ask);
      return;
    case 'render': {
      const { id, job, limits } = message;
      const assets = {
        ...(message.logo && { logo: toBuffer(message.logo) }),
        ...(message.askQuality && { qualityFor: askQuality(id) }),
      };
      renderJob(job, toBuffer(message.source), assets, limits)
        .then(
          (rendered) => send({ type: 'done', id, data: rendered.data, contentType: rendered.contentType, label: rendered.label }),
          (error: unknown) => {
            const { name, message: text, code } = error instanceof Error ? (error as Error & { code?: string }) : { name: 'Error', message: String(error), code: undefined };
            send({ type: 'failed', id, name, message: text, ...(code !== undefined && { code }) });
          },
        )
        // After the answer is on its way, once the job's buffers are unreachable.
        .finally(() => setImmediate(collectGarbage));
      return;
    }
  }
});
// The parent going away (a crash, a kill) ends this process too.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
