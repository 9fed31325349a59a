/** Counts the requests received and not yet answered (or hung up on), for the shutdown log. */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';

export interface InFlight {
  /** Counts `response` until it closes. */
  track(response: ServerResponse): void;
  readonly count: () => number;
}

export function createInFlight(): InFlight {
  let inFlight = 0;
  const closed = () => void inFlight--;
  return {
    track(response) {
      inFlight++;
      // 'close' comes exactly once per response: after the last byte, or when the socket died first.
      response.once('close', closed);
    },
    count: () => inFlight,
  };
}

/** Counts every request fastify receives, before anything may refuse it, so refusals are in the count too. */
export function installInFlight(app: FastifyInstance, inFlight: InFlight): void {
  app.addHook('onRequest', function countRequest(_request, reply, done) {
    inFlight.track(reply.raw);
    done();
  });
}
