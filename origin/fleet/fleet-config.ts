/**
 * The admin listener and what arrives there: storage events that pre-render or purge, takedowns
 * (purge, block) and the block list every replica re-reads. Its variables are part of the one
 * environment schema (`config.ts`), validated at start-up; the relations between them here.
 */
import * as z from 'zod';
import { ConfigError } from '../config-error.js';
import { int } from '../env-values.js';

export interface FleetConfig {
  /** Port of the admin listener (same host); undefined when it is off. */
  readonly adminPort?: number;
  /** Bearer token every admin request must carry. */
  readonly adminToken?: string;
  /** Presets rendered into the result store when an object is created. */
  readonly prerender: readonly string[];
  /** Source keys waiting to be pre-rendered; one more event is a 503. */
  readonly prerenderQueue: number;
  /** Name of the block list object in the result store. */
  readonly blocklistName: string;
  readonly blocklistRefreshMs: number;
  /** URL template called after a purge or block (`{key}`: once per key; else one POST with them all). */
  readonly purgeWebhook?: string;
}

/** The variables read here; spread into the one environment schema of `config.ts`. */
export const FLEET_ENV = {
  ORIGIN_ADMIN_PORT: z
    .union([z.literal('off'), int(0, 65535)], { error: 'expected a port (1-65535), or off (0)' })
    .default('off')
    .transform((v) => (v === 'off' || v === 0 ? undefined : v)),
  ORIGIN_ADMIN_TOKEN: z.string().min(16, 'needs at least 16 characters (use 32 random bytes)').optional(),
  ORIGIN_PRERENDER: z
    .string()
    .transform((v) => v.split(',').map((p) => p.trim()).filter(Boolean))
    .optional(),
  ORIGIN_PRERENDER_QUEUE: int(1, 1_000_000).default(1_000),
  ORIGIN_BLOCKLIST: z.string().regex(/^[A-Za-z0-9._\/-]+$/, 'an object name: letters, digits, . _ - /').default('blocklist.json'),
  ORIGIN_BLOCKLIST_REFRESH_S: int(1, 3_600).default(5),
  ORIGIN_PURGE_WEBHOOK: z.url({ protocol: /^https?$/ }).optional(),
};

type FleetEnv = Readonly<z.output<z.ZodObject<typeof FLEET_ENV>>>;

export function parseFleetConfig(e: FleetEnv, hasResultStore: boolean): FleetConfig {
  const problems: string[] = [];
  if (e.ORIGIN_ADMIN_PORT !== undefined && e.ORIGIN_ADMIN_TOKEN === undefined) problems.push('ORIGIN_ADMIN_TOKEN: required with ORIGIN_ADMIN_PORT (every admin request needs it)');
  if (e.ORIGIN_PRERENDER !== undefined && !hasResultStore) problems.push('ORIGIN_PRERENDER: needs ORIGIN_RESULT_STORE (pre-rendered variants are kept there)');
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...(e.ORIGIN_ADMIN_PORT !== undefined && { adminPort: e.ORIGIN_ADMIN_PORT }),
    ...(e.ORIGIN_ADMIN_TOKEN !== undefined && { adminToken: e.ORIGIN_ADMIN_TOKEN }),
    prerender: e.ORIGIN_PRERENDER ?? [],
    prerenderQueue: e.ORIGIN_PRERENDER_QUEUE,
    blocklistName: e.ORIGIN_BLOCKLIST,
    blocklistRefreshMs: e.ORIGIN_BLOCKLIST_REFRESH_S * 1000,
    ...(e.ORIGIN_PURGE_WEBHOOK !== undefined && { purgeWebhook: e.ORIGIN_PURGE_WEBHOOK }),
  };
}
