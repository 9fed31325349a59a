/**
 * The latency floor of the machine under load: while a scenario keeps the cores busy, one small
 * GET every few milliseconds to each of a few targets (a bare fastify server answering a fixed
 * body, the origin's `/healthz`), one at a time, latency from send to the last byte. What a
 * bare server gets at the same moments is the least any answer can take on this host then: the
 * origin's sheds are judged beside it. The probes cost well under 1 % of a core.
 */
import { Pool } from 'undici';
import { sleep } from './children.js';
import { summarizeLatency, type LatencySummary } from './stats.js';

export interface FloorTarget {
  readonly name: string;
  /** Origin (`http://127.0.0.1:port`) and path. */
  readonly base: string;
  readonly path: string;
}

export interface LatencyFloor {
  /** Stops probing and summarises each target's latencies (milliseconds, 2xx answers only). */
  stop(): Promise<Record<string, LatencySummary & { readonly count: number }>>;
}

export function probeLatencyFloor(targets: readonly FloorTarget[], intervalMs = 20): LatencyFloor {
  const pools = targets.map((t) => new Pool(t.base, { connections: 1, keepAliveTimeout: 60_000 }));
  const latencies = targets.map((): number[] => []);
  let stopped = false;
  const loop = (async () => {
    // Round-robin, so every target is probed at nearly the same moments.
    for (let i = 0; !stopped; i++) {
      const k = i % targets.length;
      const target = targets[k] as FloorTarget;
      const started = performance.now();
      try {
        const answer = await (pools[k] as Pool).request({ method: 'GET', path: target.path });
        await answer.body.arrayBuffer();
        if (answer.statusCode < 300) latencies[k]?.push(performance.now() - started);
      } catch {
        // A failed probe says nothing about the floor; the scenario's own figures show failures.
      }
      await sleep(intervalMs / targets.length);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(pools.map((p) => p.close()));
      return Object.fromEntries(targets.map((t, k) => [t.name, { ...summarizeLatency(latencies[k] ?? []), count: latencies[k]?.length ?? 0 }]));
    },
  };
}
