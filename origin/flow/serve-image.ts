/**
 * The request flow of one image request, top to bottom, in the README's order ("Request flow").
 * Each stage is a named function in a module of its own; this function only says in which order
 * they run and what each passes on. Plain objects in and out, no fastify, so the flow is tested
 * without sockets and the route stays a thin adapter.
 */
import { canonicalizeSpec } from '../../transforms/canonical.js';
import type { TransformLimits } from '../../transforms/limits.js';
import type { FallbackConfig } from '../delivery-config.js';
import { resolveHints, type HintSteps } from '../http/client-hints.js';
import { hasConditions, type ConditionalHeaders } from '../http/conditional.js';
import { imageJob, infoJob, type Job } from '../load/jobs.js';
import type { Originals } from '../load/originals.js';
import type { Variants } from '../load/variants.js';
import type { ImageRequest, RawRequest } from '../request/read-request.js';
import { BlockedError, NotFoundError } from '../errors.js';
import type { SourceKey } from '../sources/source.js';
import { answer, answerFromStat, imagePolicy, type ImageResponse, type ResponsePolicy } from './answer.js';
import { answerFallback, planFallback } from './fallback.js';
import type { Plan, ReadEntry, RequestMemo } from './request-memo.js';

export interface FlowDeps {
  /** Stages 1 to 4 (reading with its RequestDeps) remembered per URL and the header values they used (`request-memo.ts`). */
  readonly memo: RequestMemo;
  readonly hints: HintSteps;
  readonly limits: TransformLimits;
  readonly originals: Originals;
  readonly variants: Variants;
  readonly cacheControl: string;
  readonly degradedCacheControl: string;
  readonly fallback: FallbackConfig;
  /** True for a key taken down fleet-wide (README: "Fleet"); counts the refusal itself. */
  readonly isBlocked?: ((key: SourceKey) => boolean) | undefined;
  /** ORIGIN_QUALITY_TARGET: what variants aim at unless the preset says otherwise. */
  readonly qualityTarget: number;
  /** ORIGIN_AUTOQUALITY: whether the target is met per image unless the preset says otherwise. */
  readonly autoQuality: boolean;
}

export interface IncomingRequest extends RawRequest {
  /**
   * Aborts when the client hangs up or the request's deadline passes. Read only when the request
   * has to wait for something (a stat, a fetch, a transform), so the route may make it on first use.
   */
  readonly signal: AbortSignal;
}

/** What stages 1 to 4 decide for one request: the job to make and how its answers are labelled. */
export interface PlannedRequest extends Plan {
  readonly request: ImageRequest;
}

/** Stages 1 to 4; also how a pre-render names exactly the variant a live request would ask for. */
export function planRequest(deps: FlowDeps, req: RawRequest): PlannedRequest {
  // 1. Read and verify: signature, key, dialect (native, preset, OSS, info), parameters. 400/403/404.
  //    Remembered per URL; a signed URL's signature is checked on every request.
  const read = deps.memo.read(req);
  // A blocked key is refused before any tier is consulted: never the original, never a variant (451).
  if (deps.isBlocked?.(read.request.key)) throw new BlockedError(read.request.key);
  return planRead(deps, read, req);
}

/** Stages 2 to 4 for a read request. */
function planRead(deps: FlowDeps, read: ReadEntry, req: RawRequest): PlannedRequest {
  const { request } = read;
  if (request.kind === 'info') {
    const policy: ResponsePolicy = { cacheControl: deps.cacheControl, degradedCacheControl: deps.degradedCacheControl, vary: [] };
    return { request, ...read.plan('info', () => ({ job: infoJob(request.key, request.shape), policy })) };
  }
  // 2. Apply hints: w=auto, dpr=auto and Save-Data from the client hints, snapped to steps.
  const hints = resolveHints(request.spec, req.header, deps.hints, request.preset?.width);
  // 3. Negotiate: Accept (or the CDN's X-Image-Format-Token) → avif | webp | legacy.
  const token = deps.memo.formatToken(req.header);
  // 4. Canonicalize: DPR applied, sizes capped, defaults and quality decided, no-ops dropped.
  //    Remembered per request and everything else it depends on: the token and the hints.
  const plan = read.plan(`${token} ${hints.dpr} ${hints.deviceWidth ?? ''} ${hints.saveData === true}`, () => {
    const qualityTarget = request.preset?.qualityTarget ?? deps.qualityTarget;
    const autoQuality = request.preset?.autoQuality ?? deps.autoQuality;
    const context = { token, ...hints, qualities: request.preset?.qualities, qualityTarget, autoQuality, watermark: request.watermark };
    const spec = canonicalizeSpec(request.spec, context, deps.limits);
    const policy = imagePolicy(spec, hints.vary, request.preset?.cacheControl ?? deps.cacheControl, deps.degradedCacheControl);
    return { job: imageJob(request.key, spec), policy, preset: request.preset };
  });
  return { request, ...plan };
}

/**
 * The hit path's flow (`http/hit-path.ts`): the answer for a remembered request whose variant is
 * in the tier, exactly as `serveImage` would give it; undefined whenever more than that is needed
 * (a request not yet read, a blocked key, a miss), and the whole flow runs. Throws what reading
 * throws (a signed URL past its expiry).
 */
export function answerKept(deps: FlowDeps, req: RawRequest): ImageResponse | undefined {
  const read = deps.memo.remembered(req);
  if (read === undefined) return undefined;
  const { job, policy } = planRead(deps, read, req);
  const kept = deps.variants.lookupHit(job);
  // A block drops the key's variants from the tier when it is read; until then the flow refuses it.
  if (kept === undefined || deps.isBlocked?.(job.key)) return undefined;
  return answer(conditionsOf(req), policy, job, kept, true);
}

export async function serveImage(deps: FlowDeps, req: IncomingRequest): Promise<ImageResponse> {
  let planned: PlannedRequest;
  try {
    planned = planRequest(deps, req);
  } catch (error) {
    // A blocked key answers the fallback image when one is configured, made like the request.
    if (!(error instanceof BlockedError)) throw error;
    return answerBlocked(deps, req, error);
  }
  const { job, policy } = planned;
  const conditions = conditionsOf(req);
  try {
    return await produceAndAnswer(deps, req, conditions, policy, job);
  } catch (error) {
    // 9. Fall back: a missing source answers the fallback image, made like the request (502 when it is missing too).
    const fallback = planFallback(deps.fallback, error, job, policy, planned.preset);
    if (!fallback) throw error;
    const fallbackConditions = fallback.conditional ? conditions : {};
    return answerFallback(deps.fallback, () => produceAndAnswer(deps, req, fallbackConditions, fallback.policy, fallback.job));
  }
}

function conditionsOf(req: RawRequest): ConditionalHeaders {
  return { ifNoneMatch: req.header('if-none-match'), ifModifiedSince: req.header('if-modified-since') };
}

/** A blocked key: the fallback image planned as for a missing source (the block's key replaced), else the 451. */
async function answerBlocked(deps: FlowDeps, req: IncomingRequest, blocked: BlockedError): Promise<ImageResponse> {
  if (deps.fallback.key === undefined) throw blocked;
  // Planned without the block check: the fallback key stands in for the blocked one.
  let planned: PlannedRequest;
  try {
    planned = planRead(deps, deps.memo.read(req), req);
  } catch {
    throw blocked;
  }
  const fallback = planFallback(deps.fallback, new NotFoundError(), planned.job, planned.policy, undefined);
  if (!fallback) throw blocked;
  return answerFallback(deps.fallback, () => produceAndAnswer(deps, req, {}, fallback.policy, fallback.job));
}

/** Stages 5 to 8, for one job: from the tiers, a 304 from a stat, or made now. */
async function produceAndAnswer(deps: FlowDeps, req: IncomingRequest, conditions: ConditionalHeaders, policy: ResponsePolicy, job: Job): Promise<ImageResponse> {
  // 5. Consult the tiers: the variant, or under pressure its cheaper twin (a kept full-quality one still wins).
  let chosen = job;
  let kept = deps.variants.lookup(job);
  const economy = kept ? undefined : deps.variants.degradedTwin(job);
  if (economy) [chosen, kept] = [economy, deps.variants.lookup(economy)];
  if (kept) return answer(conditions, policy, chosen, kept, true);

  // 6. Answer conditionally: a (coalesced, queued) source stat, then 304 without fetching anything.
  if (hasConditions(conditions)) {
    const stat = await deps.originals.stat(job.key, req.signal);
    const notModified = answerFromStat(conditions, policy, economy ? [job, economy] : [job], stat);
    if (notModified) return notModified;
  }

  // 7. Produce: join the same variant in flight, or reserve a transform place (503), fetch, transform.
  const made = await deps.variants.make(chosen, req.signal);

  // 8. Answer: 200 with the variant, or 304 if the client already holds it.
  return answer(conditions, policy, chosen, made, false);
}
