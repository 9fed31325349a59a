/**
 * `--profile`: the origin runs with `node --cpu-prof --cpu-prof-dir=<dir>`, and V8 writes the
 * profile when the process exits (main.ts exits on SIGTERM after draining). This checks that the
 * file really was written and is a usable profile before moving it next to the results: a
 * `.cpuprofile` opens as a flame graph in Chrome DevTools (Performance), speedscope or VS Code.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface SavedProfile {
  readonly path: string;
  readonly bytes: number;
  /** Call-tree nodes and samples in the profile: zero would mean it recorded nothing. */
  readonly nodes: number;
  readonly samples: number;
  /** Share of the main thread's sampled time spent idle (waiting for libvips threads, I/O). */
  readonly idleShare: number;
  /** Functions with the most self time on the main thread, as `share name (file:line)`. */
  readonly top: readonly string[];
  /**
   * Gaps between samples longer than 3 and 10 ms, and the longest: V8 samples the main thread
   * every millisecond even when it is idle or collecting garbage, so a gap means the thread (or
   * the sampler) waited for a core.
   */
  readonly stalls: { readonly over3Ms: number; readonly over10Ms: number; readonly longestMs: number };
}

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface CpuProfile {
  readonly nodes?: readonly { readonly id: number; readonly callFrame: CallFrame }[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/**
 * Self time per function. V8 samples only JavaScript threads: libvips' own threads (where the
 * transforms run) show up as the main thread being idle while it waits for them.
 */
function summarize(profile: CpuProfile, count: number): Pick<SavedProfile, 'idleShare' | 'top' | 'stalls'> {
  const frames = new Map((profile.nodes ?? []).map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  (profile.samples ?? []).forEach((id, i) => {
    const dt = profile.timeDeltas?.[i] ?? 0;
    const frame = frames.get(id);
    total += dt;
    if (!frame || frame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    const where = frame.url === '' ? '' : ` (${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1})`;
    const name = `${frame.functionName || '(anonymous)'}${where}`;
    self.set(name, (self.get(name) ?? 0) + dt);
  });
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, dt]) => `${((dt / Math.max(1, total)) * 100).toFixed(1)}% ${name}`);
  const gaps = profile.timeDeltas ?? [];
  const stalls = {
    over3Ms: gaps.filter((dt) => dt > 3_000).length,
    over10Ms: gaps.filter((dt) => dt > 10_000).length,
    longestMs: Math.round(Math.max(0, ...gaps) / 100) / 10,
  };
  return { idleShare: total > 0 ? idle / total : 0, top, stalls };
}

export async function collectProfile(dir: string, pid: number, out: string): Promise<SavedProfile> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`));
  const file = files[0];
  if (file === undefined) throw new Error(`no CPU profile for pid ${pid} in ${dir}: the origin did not write one on exit`);
  const text = await readFile(path.join(dir, file), 'utf8');
  const profile = JSON.parse(text) as CpuProfile;
  const nodes = profile.nodes?.length ?? 0;
  const samples = profile.samples?.length ?? 0;
  if (nodes === 0 || samples === 0) throw new Error(`CPU profile ${file} is empty`);
  await mkdir(path.dirname(out), { recursive: true });
  await rename(path.join(dir, file), out).catch(async () => {
    // Another file system (tmp vs project): copy by writing, then remove.
    await writeFile(out, text);
    await rm(path.join(dir, file));
  });
  return { path: out, bytes: Buffer.byteLength(text), nodes, samples, ...summarize(profile, 10) };
}
