/**
 * Background rendering for pre-renders: jobs made in a child process (`background-process.ts`)
 * that runs at the lowest CPU priority, so the kernel, not a polling loop, keeps live requests
 * first. A pre-render made in the server process, even one started only on an idle slot, shares
 * the cores with every live transform that arrives while it runs. Measured with the `upload`
 * bench (2-core VM, live traffic at a third of cold capacity, 240 variants pre-rendered, 3
 * rounds): live p99 1.11–1.75× uncontended and p95 890–1207 ms that way, 0.99–1.15× and 563–881
 * ms from this process, for 172–198 MB more peak memory (README "Fleet").
 *
 * The process starts with the first job and leaves after `idleMs` without one, so a replica that
 * pre-renders nothing holds no second sharp. One job runs at a time; a crash fails the job it was
 * making, and the next job starts a new process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { LossyFormat } from '../../transforms/formats.js';
import { TransformTimeoutError } from '../../transforms/errors.js';
import type { TransformLimits } from '../../transforms/limits.js';
import type { QualityLookup } from './autoquality.js';
import type { Job } from './jobs.js';
import type { Rendered } from './render-job.js';

export type FromParent =
  | { readonly type: 'init'; readonly sharpConcurrency: number }
  | {
      readonly type: 'render';
      readonly id: number;
      readonly job: Job;
      readonly source: Uint8Array;
      readonly logo?: Uint8Array | undefined;
      readonly askQuality: boolean;
      readonly limits: TransformLimits;
    }
  | { readonly type: 'quality'; readonly ask: number; readonly quality: number | undefined };

export type ToParent =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number; readonly data: Uint8Array; readonly contentType: string; readonly label: string }
  | { readonly type: 'failed'; readonly id: number; readonly name: string; readonly message: string; readonly code?: string }
  | { readonly type: 'quality'; readonly id: number; readonly ask: number; readonly format: LossyFormat; readonly target: number };

export interface BackgroundRenderer {
  render(job: Job, source: Buffer, assets: { readonly logo?: Buffer | undefined; readonly qualityFor?: QualityLookup | undefined }): Promise<Rendered>;
  /** The process's id while it runs (tests read its threads' priority). */
  readonly pid: number | undefined;
  close(): void;
}

export interface BackgroundRendererOptions {
  readonly limits: TransformLimits;
  readonly sharpConcurrency: number;
  /** How long the process stays without a job before it leaves. */
  readonly idleMs: number;
}

/** tsc's output beside this module, or found from the bundled entry (`dist/origin/main.js`, `dist/origin/chunks/`). */
const PROCESS_FILES = ['./background-process.js', './load/background-process.js', '../load/background-process.js'];

interface Pending {
  readonly resolve: (rendered: Rendered) => void;
  readonly reject: (error: Error) => void;
  readonly qualityFor?: QualityLookup | undefined;
}

function failure(message: Extract<ToParent, { type: 'failed' }>): Error {
  if (message.name === 'TransformTimeoutError') return new TransformTimeoutError(message.message);
  return Object.assign(new Error(message.message), { name: message.name, ...(message.code !== undefined && { code: message.code }) });
}

export function createBackgroundRenderer(options: BackgroundRendererOptions): BackgroundRenderer {
  const file = PROCESS_FILES.map((candidate) => new URL(candidate, import.meta.url)).find((url) => existsSync(url));
  const pending = new Map<number, Pending>();
  let child: ChildProcess | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let lastId = 0;
  let queue: Promise<unknown> = Promise.resolve();

  function failAll(error: Error): void {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  }

  function start(): ChildProcess {
    if (!file) throw new Error('the background render process (origin/load/background-process.js) is missing from the build');
    // The server's own flags (a profiler, an inspector) are not the child's; it collects its
    // garbage after every job (background-process.ts says why).
    const started = fork(file, [], { serialization: 'advanced', execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    started.on('message', (message: ToParent) => {
      if (message.type === 'quality') {
        const lookup = pending.get(message.id)?.qualityFor;
        const answer = (quality: number | undefined) => started.send({ type: 'quality', ask: message.ask, quality } satisfies FromParent);
        (lookup ? lookup(message.format, message.target) : Promise.resolve(undefined)).then(answer, () => answer(undefined));
        return;
      }
      if (message.type === 'ready') return;
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      if (!waiting) return;
      if (message.type === 'done') {
        const data = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
        waiting.resolve({ data, contentType: message.contentType, label: message.label });
      } else waiting.reject(failure(message));
    });
    started.on('exit', (code, signal) => {
      if (child === started) child = undefined;
      failAll(new Error(`the background render process ended (${signal ?? `exit ${code}`})`));
    });
    started.send({ type: 'init', sharpConcurrency: options.sharpConcurrency } satisfies FromParent);
    return started;
  }

  /** Held only while a job is out: an idle process never keeps the server alive. */
  function hold(worker: ChildProcess, holding: boolean): void {
    if (holding) {
      worker.ref();
      worker.channel?.ref();
    } else {
      worker.unref();
      worker.channel?.unref();
    }
  }

  function renderNow(job: Job, source: Buffer, assets: Parameters<BackgroundRenderer['render']>[2]): Promise<Rendered> {
    clearTimeout(idleTimer);
    const worker = (child ??= start());
    const id = ++lastId;
    hold(worker, true);
    return new Promise<Rendered>((resolve, reject) => {
      pending.set(id, { resolve, reject, qualityFor: assets.qualityFor });
      const message: FromParent = { type: 'render', id, job, source, logo: assets.logo, askQuality: assets.qualityFor !== undefined, limits: options.limits };
      worker.send(message);
    }).finally(() => {
      hold(worker, false);
      idleTimer = setTimeout(() => child?.kill(), options.idleMs).unref();
    });
  }

  return {
    render(job, source, assets) {
      const turn = queue.then(() => renderNow(job, source, assets));
      queue = turn.catch(() => undefined);
      return turn;
    },
    get pid() {
      return child?.pid;
    },
    close() {
      clearTimeout(idleTimer);
      child?.kill();
      child = undefined;
    },
  };
}
