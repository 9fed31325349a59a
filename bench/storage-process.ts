/**
 * Child process: a real S3-API server (s3rver, through the tests' helper) holding the benchmark's
 * bucket, and in front of it a proxy that fails a share of the requests (fault-proxy.ts, for
 * `soak`). It runs apart from the load generator so that serving originals is not counted as the
 * load generator's CPU. Protocol (IPC, advanced serialization): the parent sends one `SeedMessage`;
 * the child answers a `ReadyMessage` (the variables that point an origin at s3rver, or at the
 * failing proxy) once every object is stored; later, each `{ type: 'faults' }` is answered with
 * the proxy's log. It closes both servers (and removes its folder) when the parent disconnects
 * or on SIGTERM.
 */
import { startS3rver, type RunningS3rver } from '../support/s3rver.js';
import { startCopySource, type CopySource } from './copy-source.js';
import { startFaultProxy, type FaultLog, type FaultProxy, type FaultSettings } from './fault-proxy.js';

export interface SeedMessage {
  readonly type: 'seed';
  /** Distinct object bodies by name. */
  readonly bodies: Record<string, Buffer>;
  /** [key, body name] pairs: many keys may share a body. */
  readonly keys: readonly (readonly [string, string])[];
  readonly faults: FaultSettings;
}

export interface ReadyMessage {
  readonly type: 'ready';
  readonly env: Record<string, string>;
  /** The same with S3_ENDPOINT at the failing proxy. */
  readonly faultyEnv: Record<string, string>;
  /** Base URL of the plain HTTP server of copies (`peer`: copy-source.ts). */
  readonly copyUrl: string;
}

export interface FaultsMessage {
  readonly type: 'faults';
  readonly log: FaultLog;
}

export type ParentMessage = SeedMessage | { readonly type: 'faults' };
export type ChildMessage = ReadyMessage | FaultsMessage;

const BUCKET = 'bench';
let server: RunningS3rver | undefined;
let proxy: FaultProxy | undefined;
let copies: CopySource | undefined;
let closing = false;

async function close(code = 0): Promise<void> {
  if (closing) return;
  closing = true;
  await proxy?.close().catch(() => undefined);
  await copies?.close().catch(() => undefined);
  await server?.close().catch(() => undefined);
  process.exit(code);
}

const reply = (message: ChildMessage) => process.send?.(message);

async function seed(message: SeedMessage): Promise<void> {
  server = await startS3rver({ bucket: BUCKET });
  for (const [key, name] of message.keys) {
    const body = message.bodies[name];
    if (!body) throw new Error(`no body named ${name}`);
    if (closing) return;
    await server.put(key, Buffer.from(body));
  }
  proxy = await startFaultProxy(server.endpoint, BUCKET, message.faults);
  const byKey = new Map<string, Buffer>();
  for (const [key, name] of message.keys) if (key.startsWith('base/')) byKey.set(key, Buffer.from(message.bodies[name] as Buffer));
  copies = await startCopySource(byKey);
  reply({ type: 'ready', env: server.env(), faultyEnv: { ...server.env(), S3_ENDPOINT: proxy.endpoint }, copyUrl: copies.url });
}

process.once('SIGTERM', () => void close());
process.once('disconnect', () => void close());

process.on('message', (message: ParentMessage) => {
  if (message.type === 'faults') {
    reply({ type: 'faults', log: proxy?.log() ?? { requests: 0, faults: [] } });
    return;
  }
  seed(message).catch((error: unknown) => {
    process.stderr.write(`storage: ${error instanceof Error ? error.stack : String(error)}\n`);
    void close(1);
  });
});
