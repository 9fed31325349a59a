/** Counts the requests received and not yet answered (or hung up on), for the shutdown log. */
import type { FastifyInstance } from 'fastify';

export function countInFlight(app: FastifyInstance): () => number {
  let inFlight = 0;
  app.addHook('onRequest', function countRequest(_request, reply, done) {
    inFlight++;
    // 'close' comes exactly once per response: after the last byte, or when the socket died first.
    reply.raw.once('close', () => void inFlight--);
    done();
  });
  return () => inFlight;
}
