/**
 * The listening side of the origin: address, log level, connection limits, the metrics port, the
 * shutdown grace and the back-to-origin header. Its variables are part of the one environment
 * schema (`config.ts`); the relations between them are checked here, once, at start-up.
 */
import * as z from 'zod';
import { ConfigError } from './config-error.js';
import { bool, int } from './env-values.js';

/**
 * Every connection is bounded, whatever the client does (README: "Bounded connections"). A
 * request the origin is working on writes nothing for up to `ORIGIN_REQUEST_DEADLINE_MS`, so no
 * timer that counts socket inactivity may be shorter than that while the origin holds a request.
 */
export interface ConnectionConfig {
  /** Time a client has to send its whole request, headers and body (a client that sends nothing is cut here too). */
  readonly requestTimeoutMs: number;
  /** No byte either way for this long closes the socket, in any state but idle keep-alive; longer than the request deadline. */
  readonly idleTimeoutMs: number;
  /** Time an idle keep-alive connection waits for its next request. */
  readonly keepAliveTimeoutMs: number;
  /** Time a response may wait for the client to take its next byte (Node checks once per period: cut within twice that). */
  readonly sendTimeoutMs: number;
  /** Requests one connection may carry before the origin closes it (0: no limit). */
  readonly maxRequestsPerSocket: number;
}

/** `ORIGIN_REQUIRE_HEADER`: the header the CDN adds to every back-to-origin request. */
export interface RequiredHeader {
  /** Lower case, as Node spells request header names. */
  readonly name: string;
  /** Each accepted value (several while a secret is rotated). */
  readonly values: readonly string[];
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  /** Port of the metrics listener (same host); undefined when it is off. */
  readonly metricsPort?: number;
  /** Bearer token that opens /metrics on the main port; undefined: /metrics is 404 there. */
  readonly metricsToken?: string;
  /** Time in-flight requests get to finish after SIGTERM. */
  readonly shutdownGraceMs: number;
  readonly connections: ConnectionConfig;
  /** Images, info and OSS URLs are 403 without this header; health probes never need it. */
  readonly requiredHeader?: RequiredHeader;
}

const HOUR_MS = 3_600_000;

/** The variables read here; spread into the one environment schema of `config.ts`. */
export const SERVER_ENV = {
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // 9464 is the default port of OpenTelemetry's Prometheus exporters; `off` (or 0) opens none.
  ORIGIN_METRICS_PORT: z
    .union([z.literal('off'), int(0, 65535)], { error: 'expected a port (1-65535), or off (0)' })
    .default(9464)
    .transform((v) => (v === 'off' || v === 0 ? undefined : v)),
  ORIGIN_METRICS_ON_MAIN_PORT: bool.default(false),
  ORIGIN_METRICS_TOKEN: z.string().min(16, 'needs at least 16 characters (use 32 random bytes)').optional(),
  ORIGIN_SHUTDOWN_GRACE_MS: int(0, HOUR_MS).default(20_000),
  // A CDN sends a whole request at once; 10 s is room for a congested link, and the end of a slowloris.
  ORIGIN_REQUEST_TIMEOUT_MS: int(1, HOUR_MS).default(10_000),
  // Unset: ORIGIN_REQUEST_DEADLINE_MS + 30 s, a backstop the deadline always beats.
  ORIGIN_IDLE_TIMEOUT_MS: int(1, 2 * HOUR_MS).optional(),
  // Longer than the 60 s most front ends (nginx's upstream keepalive_timeout, load balancers) keep an
  // idle connection, so they close it first and never send a request onto one the origin is closing.
  ORIGIN_KEEPALIVE_TIMEOUT_MS: int(1, HOUR_MS).default(65_000),
  // A CDN edge reads as fast as the origin writes: 10 s without taking a byte means it has gone.
  // Node checks for progress once per period, so a stalled answer is cut within 10–20 s.
  ORIGIN_SEND_TIMEOUT_MS: int(1, HOUR_MS).default(10_000),
  // Closing a connection now and then lets new replicas behind an L4 balancer get their share.
  ORIGIN_MAX_REQUESTS_PER_SOCKET: int(0, 1_000_000_000).default(1_000),
  ORIGIN_REQUIRE_HEADER: z.string().min(1).optional(),
};

type ServerEnv = Readonly<z.output<z.ZodObject<typeof SERVER_ENV>>>;

/** RFC 9110 token characters, the only ones a header name may have. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII but the comma that separates values: what every CDN lets you type as a header value. */
const SECRET_VALUE = /^[\x21-\x2b\x2d-\x7e]{16,}$/;

/** `Name: value[, value…]`; throws a ConfigError naming what is wrong, never echoing a value. */
export function parseRequiredHeader(raw: string): RequiredHeader {
  const colon = raw.indexOf(':');
  const name = raw.slice(0, colon).trim();
  const values = raw.slice(colon + 1).split(',').map((v) => v.trim());
  if (colon === -1 || !HEADER_NAME.test(name)) {
    throw new ConfigError(['ORIGIN_REQUIRE_HEADER: expected "Name: value", e.g. "X-Origin-Auth: <32 random bytes, base64>"']);
  }
  if (!values.every((v) => SECRET_VALUE.test(v))) {
    throw new ConfigError([
      'ORIGIN_REQUIRE_HEADER: each comma-separated value needs at least 16 visible ASCII characters, without spaces or commas',
    ]);
  }
  return { name: name.toLowerCase(), values };
}

/** Relations no single variable can check; every broken one is named. */
function relationProblems(e: ServerEnv, idleTimeoutMs: number, requestDeadlineMs: number): string[] {
  const problems: string[] = [];
  if (idleTimeoutMs <= requestDeadlineMs) {
    problems.push(
      `ORIGIN_IDLE_TIMEOUT_MS (${idleTimeoutMs}) must be longer than ORIGIN_REQUEST_DEADLINE_MS (${requestDeadlineMs}): ` +
        'a request the origin is still working on writes nothing, and the idle timer would cut it',
    );
  }
  if (e.ORIGIN_METRICS_ON_MAIN_PORT && e.ORIGIN_METRICS_TOKEN === undefined) {
    problems.push('ORIGIN_METRICS_ON_MAIN_PORT: needs ORIGIN_METRICS_TOKEN, the bearer token scrapers send');
  }
  if (!e.ORIGIN_METRICS_ON_MAIN_PORT && e.ORIGIN_METRICS_TOKEN !== undefined) {
    problems.push('ORIGIN_METRICS_TOKEN: only used with ORIGIN_METRICS_ON_MAIN_PORT=true (the metrics port needs no token)');
  }
  if (e.ORIGIN_METRICS_PORT !== undefined && e.ORIGIN_METRICS_PORT === e.PORT) {
    problems.push(`ORIGIN_METRICS_PORT: must differ from PORT (${e.PORT}); use ORIGIN_METRICS_ON_MAIN_PORT for one port`);
  }
  return problems;
}

export function parseServerConfig(e: ServerEnv, requestDeadlineMs: number): ServerConfig {
  const idleTimeoutMs = e.ORIGIN_IDLE_TIMEOUT_MS ?? requestDeadlineMs + 30_000;
  const problems = relationProblems(e, idleTimeoutMs, requestDeadlineMs);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    ...(e.ORIGIN_METRICS_PORT !== undefined && { metricsPort: e.ORIGIN_METRICS_PORT }),
    ...(e.ORIGIN_METRICS_ON_MAIN_PORT && e.ORIGIN_METRICS_TOKEN !== undefined && { metricsToken: e.ORIGIN_METRICS_TOKEN }),
    shutdownGraceMs: e.ORIGIN_SHUTDOWN_GRACE_MS,
    connections: {
      requestTimeoutMs: e.ORIGIN_REQUEST_TIMEOUT_MS,
      idleTimeoutMs,
      keepAliveTimeoutMs: e.ORIGIN_KEEPALIVE_TIMEOUT_MS,
      sendTimeoutMs: e.ORIGIN_SEND_TIMEOUT_MS,
      maxRequestsPerSocket: e.ORIGIN_MAX_REQUESTS_PER_SOCKET,
    },
    ...(e.ORIGIN_REQUIRE_HEADER !== undefined && { requiredHeader: parseRequiredHeader(e.ORIGIN_REQUIRE_HEADER) }),
  };
}
