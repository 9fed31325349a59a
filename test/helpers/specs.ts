/** Builds canonical specs from query strings, the way the server does, for pipeline-level tests. */
import { canonicalizeSpec, type CanonicalSpec } from '../../transforms/canonical.js';
import type { FormatToken } from '../../transforms/formats.js';
import { DEFAULT_LIMITS, type TransformLimits } from '../../transforms/limits.js';
import { createSpecParser } from '../../transforms/spec.js';

const parse = createSpecParser(DEFAULT_LIMITS);

export function specFor(query: string, token: FormatToken = 'legacy', limits: TransformLimits = DEFAULT_LIMITS): CanonicalSpec {
  const spec = (limits === DEFAULT_LIMITS ? parse : createSpecParser(limits))(new URLSearchParams(query));
  return canonicalizeSpec(spec, token, limits);
}
