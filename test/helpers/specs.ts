/** Builds canonical specs from query strings, the way the request flow does, for pipeline-level tests. */
import { resolveHints } from '../../origin/http/client-hints.js';
import { canonicalizeSpec, type CanonicalSpec, type RequestContext } from '../../transforms/canonical.js';
import type { FormatToken } from '../../transforms/formats.js';
import { DEFAULT_LIMITS, type TransformLimits } from '../../transforms/limits.js';
import { createSpecParser } from '../../transforms/parse-spec.js';

const parse = createSpecParser(DEFAULT_LIMITS);
const STEPS = { dpr: [1, 1.5, 2, 3], widths: [320, 640, 1080] };

/** Client hints resolve as if the request carried none. */
export function specFor(
  query: string | URLSearchParams,
  token: FormatToken = 'legacy',
  limits: TransformLimits = DEFAULT_LIMITS,
  extra: Partial<RequestContext> = {},
): CanonicalSpec {
  const requested = (limits === DEFAULT_LIMITS ? parse : createSpecParser(limits))(new URLSearchParams(query));
  return canonicalizeSpec(requested, { token, ...resolveHints(requested, () => undefined, STEPS), ...extra }, limits);
}
