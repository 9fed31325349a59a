/**
 * Child process: a real S3-API server (s3rver, through the tests' helper) holding the benchmark's
 * bucket. It runs apart from the load generator so that serving originals is not counted as the
 * load generator's CPU. Protocol (IPC, advanced serialization): the parent sends one `SeedMessage`;
 * the child answers `{ env }` (the variables that point the origin at it) once every object is
 * stored. It closes the server (and removes its folder) when the parent disconnects or on SIGTERM.
 */
import { startS3rver, type RunningS3rver } from '../support/s3rver.js';

export interface SeedMessage {
  /** Distinct object bodies by name. */
  readonly bodies: Record<string, Buffer>;
  /** [key, body name] pairs: many keys may share a body. */
  readonly keys: readonly (readonly [string, string])[];
}

export interface ReadyMessage {
  readonly env: Record<string, string>;
}

let server: RunningS3rver | undefined;
let closing = false;

async function close(code = 0): Promise<void> {
  if (closing) return;
  closing = true;
  await server?.close().catch(() => undefined);
  process.exit(code);
}

process.once('SIGTERM', () => void close());
process.once('disconnect', () => void close());

process.once('message', (message: SeedMessage) => {
  void (async () => {
    server = await startS3rver({ bucket: 'bench' });
    for (const [key, name] of message.keys) {
      const body = message.bodies[name];
      if (!body) throw new Error(`no body named ${name}`);
      if (closing) return;
      await server.put(key, Buffer.from(body));
    }
    const ready: ReadyMessage = { env: server.env() };
    process.send?.(ready);
  })().catch((error: unknown) => {
    process.stderr.write(`storage: ${error instanceof Error ? error.stack : String(error)}\n`);
    void close(1);
  });
});
