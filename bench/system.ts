/**
 * What the machine and each process spend, read from Linux's /proc: CPU seconds of a process,
 * its resident memory (current and peak), and the machine's CPU split including steal (time the
 * hypervisor gave our cores to someone else). Every reader returns undefined where /proc is
 * missing, and the report then says "n/a".
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Linux reports process CPU in clock ticks; USER_HZ is 100 on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds a process (all its threads) has used so far. */
export function processCpuSeconds(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime + stime) ? (utime + stime) / TICKS_PER_SECOND : undefined;
}

export interface Memory {
  /** Resident set size now, in bytes. */
  readonly rss: number;
  /** Peak resident set size since the process started (VmHWM), in bytes. */
  readonly peak: number;
  /** Resident pages mapped from files now (RssFile: the Node binary, libvips), in bytes. */
  readonly file: number;
}

export function processMemory(pid: number): Memory | undefined {
  const status = read(`/proc/${pid}/status`);
  if (status === undefined) return undefined;
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  const rss = kib('VmRSS');
  const peak = kib('VmHWM');
  const file = kib('RssFile');
  return Number.isFinite(rss) && Number.isFinite(peak) ? { rss, peak, file: Number.isFinite(file) ? file : 0 } : undefined;
}

/** The processes `pid` started and still runs (Linux's /proc children list), empty when unknown. */
export function childPids(pid: number): number[] {
  const list = read(`/proc/${pid}/task/${pid}/children`);
  return list === undefined ? [] : list.split(' ').filter(Boolean).map(Number);
}

/** True when the process has `library` mapped (e.g. that LD_PRELOAD really loaded jemalloc). */
export function processMaps(pid: number, library: string): boolean | undefined {
  const maps = read(`/proc/${pid}/maps`);
  return maps === undefined ? undefined : maps.includes(library);
}

interface MachineTicks {
  readonly total: number;
  readonly idle: number;
  readonly steal: number;
}

function machineTicks(): MachineTicks | undefined {
  const line = read('/proc/stat')?.split('\n')[0];
  if (line === undefined || !line.startsWith('cpu ')) return undefined;
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait, steal };
}

export interface CpuWindowResult {
  /** CPU used per watched process during the window, in cores (1 = one core busy all the time). */
  readonly cores: Readonly<Record<string, number | null>>;
  /** Share of the machine's CPU time stolen by the hypervisor during the window (0..1). */
  readonly steal: number | null;
  /** CPU the whole machine used during the window (all processes, steal excluded), in cores. */
  readonly machineCores: number | null;
  readonly seconds: number;
}

/**
 * Starts measuring CPU of the named processes (`self` = this process, via process.cpuUsage, which
 * includes its worker threads) and of the machine; `stop()` returns what was used meanwhile.
 */
export function cpuWindow(pids: Readonly<Record<string, number | 'self'>>): { stop(): CpuWindowResult } {
  const started = performance.now();
  const selfStart = process.cpuUsage();
  const machineStart = machineTicks();
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, pid === 'self' ? 0 : processCpuSeconds(pid)]));
  return {
    stop() {
      const seconds = (performance.now() - started) / 1000;
      const self = process.cpuUsage(selfStart);
      const cores: Record<string, number | null> = {};
      for (const [name, pid] of Object.entries(pids)) {
        if (pid === 'self') {
          cores[name] = (self.user + self.system) / 1e6 / seconds;
          continue;
        }
        const before = start[name];
        const after = processCpuSeconds(pid);
        cores[name] = before === undefined || after === undefined ? null : (after - before) / seconds;
      }
      const machineEnd = machineTicks();
      let steal: number | null = null;
      let machineCores: number | null = null;
      if (machineStart && machineEnd && machineEnd.total > machineStart.total) {
        const total = machineEnd.total - machineStart.total;
        const stolen = machineEnd.steal - machineStart.steal;
        steal = stolen / total;
        machineCores = ((total - (machineEnd.idle - machineStart.idle) - stolen) / total) * os.cpus().length;
      }
      return { cores, steal, machineCores, seconds };
    },
  };
}
