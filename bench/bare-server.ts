/**
 * Child process: the HTTP ceiling for `hot`. A bare fastify server that answers the same requests
 * with the same bytes and headers the origin sent, from memory, and 304 when If-None-Match holds
 * the ETag: what serving a cache hit costs with no origin logic at all. Protocol (IPC, advanced
 * serialization): the parent sends one `BareSetup`; the child answers `{ port }` when listening
 * and exits on SIGTERM or when the parent disconnects.
 */
import fastify from 'fastify';

export interface BareEntry {
  /** Path with query, exactly as requested. */
  readonly path: string;
  readonly accept: string;
  readonly body: Buffer;
  /** The origin's response headers (content-type, etag, cache-control, vary, …). */
  readonly headers: Record<string, string>;
}

export interface BareSetup {
  readonly entries: readonly BareEntry[];
}

process.once('message', (setup: BareSetup) => {
  void (async () => {
    const table = new Map(setup.entries.map((e) => [`${e.accept}\n${e.path}`, { ...e, body: Buffer.from(e.body) }]));
    const app = fastify({ logger: false });
    app.get('/*', async (request, reply) => {
      const entry = table.get(`${request.headers.accept ?? ''}\n${request.url}`);
      if (!entry) return reply.code(404).send();
      reply.headers(entry.headers);
      const etag = entry.headers['etag'];
      if (etag !== undefined && request.headers['if-none-match'] === etag) {
        reply.removeHeader('content-length').removeHeader('content-type');
        return reply.code(304).send();
      }
      return reply.send(entry.body);
    });
    const stop = () => void app.close().finally(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('disconnect', stop);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
  })().catch((error: unknown) => {
    process.stderr.write(`bare server: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
});
