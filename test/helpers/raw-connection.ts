/**
 * A raw TCP client on loopback (node:net) for tests about how the server treats misbehaving
 * clients: one that connects and says nothing, one that drips a request a byte at a time, one
 * that stops reading. It records what the server sent and when the server ended the connection;
 * every drip stops by itself (the text runs out, or the socket closed), and `destroy()` ends it.
 */
import net from 'node:net';

export interface Ended {
  /** Milliseconds from beginning the connection to the server ending it. */
  readonly afterMs: number;
  /** Everything the server sent. */
  readonly received: Buffer;
}

export interface RawConnection {
  readonly socket: net.Socket;
  /**
   * Resolves once the server has ended the connection (FIN or reset); rejects, and drops the
   * connection, when it has not within `capMs`, so a missing limit fails the test instead of hanging it.
   */
  ended(capMs?: number): Promise<Ended>;
  /** Milliseconds since the connection was begun. */
  elapsed(): number;
  /** Resolves with the elapsed milliseconds at the server's first byte. */
  readonly firstData: Promise<number>;
  /** Writes `text` one byte every `everyMs`, until it runs out or the connection ends. */
  drip(text: string, everyMs: number): void;
  destroy(): void;
}

/** Connects to the `http://127.0.0.1:port` base of a server; resolves once connected. */
export async function connectRaw(base: string): Promise<RawConnection> {
  const { hostname, port } = new URL(base);
  // Before connecting: the server cannot start a timer on this connection any earlier, so a
  // limit measured from here is never measured short (the 'connect' event may come much later
  // when the server shares this process and is busy).
  const openedAt = performance.now();
  const socket = net.connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const elapsed = () => performance.now() - openedAt;
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const firstData = new Promise<number>((resolve) => socket.once('data', () => resolve(elapsed())));
  // A reset is one way for the server to end it; the test looks at `ended`, not at errors.
  socket.on('error', () => undefined);
  const closed = new Promise<Ended>((resolve) => {
    const done = () => resolve({ afterMs: elapsed(), received: Buffer.concat(chunks) });
    socket.once('end', done);
    socket.once('close', done);
  });
  let dripping: NodeJS.Timeout | undefined;
  void closed.then(() => clearInterval(dripping));
  return {
    socket,
    async ended(capMs = 30_000) {
      let timer: NodeJS.Timeout | undefined;
      const cap = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`the server had not closed the connection after ${capMs} ms`));
        }, capMs);
      });
      try {
        return await Promise.race([closed, cap]);
      } finally {
        clearTimeout(timer);
      }
    },
    elapsed,
    firstData,
    drip(text, everyMs) {
      let at = 0;
      dripping = setInterval(() => {
        if (at >= text.length || socket.destroyed) return clearInterval(dripping);
        socket.write(text[at++]!);
      }, everyMs);
    },
    destroy() {
      clearInterval(dripping);
      socket.destroy();
    },
  };
}

/** The status line's code of a raw HTTP answer (0 when there is none). */
export function statusOf(received: Buffer): number {
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(received.toString('latin1'));
  return match ? Number(match[1]) : 0;
}

/** The body of a raw HTTP answer (after the blank line), parsed as JSON. */
export function jsonBodyOf(received: Buffer): unknown {
  const text = received.toString('utf8');
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
}
