/**
 * OSS `resize`: the one operation whose modes and side rules need translating rather than
 * renaming, so it has a module of its own. Modes (m, default lfit) against native fits, for a
 * w×h box:
 * - lfit → fit=inside (largest image inside the box); mfit → fit=outside (smallest image covering it);
 * - fill → fit=cover, centred (OSS always crops from the centre);
 * - pad → fit=contain, centred, bg from color (OSS default white, so bg=ffffff is always written:
 *   natively an alpha source would pad with transparency);
 * - fixed → fit=fill (stretched).
 * One side only (OSS "Usage notes"): lfit/mfit scale proportionally to that side (native w or h
 * alone); fill/pad/fixed use it for both sides (a square box).
 * l (long side) and s (short side), without w/h: l_N makes the longer output side N, which is
 * exactly fit=inside in an N×N box; s_N makes the shorter side N, exactly fit=outside in an N×N
 * box (scale N/max(W,H), resp. N/min(W,H), rounded the same way). That holds in lfit and mfit
 * alike (one constraint leaves nothing for the mode to decide). l and s together describe a box
 * oriented like the source, which no fixed w/h box expresses unless l = s. With w or h given, OSS
 * ignores l and s (documented), and so does this translation.
 * p (percent, 1-1000) → scale; above 100 OSS enlarges, so p_N → scale=N&enlarge=1.
 * limit (default 1: never enlarge) → enlarge=0 (the default); limit_0 → enlarge=1.
 */
import type { Fit } from '../../../transforms/params.js';
import type { Collected } from './collected.js';
import { colour, FLAG, int, oneOf, readArgs, type Problems } from './grammar.js';

/** OSS's largest resize side (newer OSS documents 16384; the native `w`/`h` cap still applies after translation). */
const MAX_RESIZE_SIDE = 16_384;

/** OSS modes → native fits (a one-to-one table: below, `contain` is m_pad, `inside` m_lfit, …). */
const MODES = oneOf<Fit>({ lfit: 'inside', mfit: 'outside', fill: 'cover', pad: 'contain', fixed: 'fill' });
const SIDE = int(1, MAX_RESIZE_SIDE);
const RESIZE_ARGS = { m: MODES, w: SIDE, h: SIDE, l: SIDE, s: SIDE, p: int(1, 1000), limit: FLAG, color: colour('FF0000') };

export function readResize(args: readonly string[], c: Collected, problems: Problems): void {
  const op = 'resize';
  const a = readArgs(op, args, RESIZE_ARGS, problems);
  if (!a) return;
  const fit = a.get('m', 'inside');
  const [w, h, l, s] = [a.get('w'), a.get('h'), a.get('l'), a.get('s')];
  const limit = a.get('limit', true);
  const color = a.get('color');
  if (a.has('color') && fit !== 'contain') problems.add(a.param('color'), 'only applies with m_pad');
  const enlarge = limit === false;

  if (a.has('p')) {
    const percent = a.get('p');
    a.refuse(['m', 'w', 'h', 'l', 's'], 'cannot be combined with p_');
    // OSS enlarges above 100 (its own example: `@200p` doubles), whatever limit_ says.
    if (percent !== undefined) c.resize = { scale: percent, enlarge: percent > 100, centres: false };
    return;
  }
  if (fit === undefined) return;
  let width = w;
  let height = h;
  let boxFit = fit;
  if (w === undefined && h === undefined) {
    // l alone (or l = s): longest side N; s alone: shortest side N.
    const side = l ?? s;
    if (side === undefined) {
      if (!(['w', 'h', 'l', 's'] as const).some((key) => a.has(key))) problems.add(op, 'needs w_, h_, l_, s_ or p_');
      return;
    }
    if (fit !== 'inside' && fit !== 'outside') {
      problems.add(a.param(l !== undefined ? 'l' : 's'), 'l_ and s_ are supported with m_lfit and m_mfit only');
      return;
    }
    if (l !== undefined && s !== undefined && l !== s) {
      problems.add(a.param('l'), 'l_ with a different s_ depends on the source orientation and cannot be expressed');
      return;
    }
    width = height = side;
    boxFit = l !== undefined && s !== undefined ? fit : l !== undefined ? 'inside' : 'outside';
  } else if ((w === undefined || h === undefined) && fit !== 'inside' && fit !== 'outside') {
    // OSS: in the fixed-box modes (fill, pad, fixed) a single side is used for both.
    width = height = w ?? h;
  }
  if ((a.has('w') && w === undefined) || (a.has('h') && h === undefined)) return;
  c.resize = {
    ...(width !== undefined && { width }),
    ...(height !== undefined && { height }),
    ...(width !== undefined && height !== undefined && { fit: boxFit }),
    ...(fit === 'contain' && { background: color ?? 'ffffff' }),
    enlarge,
    // Only a cover crop or contain padding with both sides set is centred.
    centres: width !== undefined && height !== undefined && (boxFit === 'cover' || boxFit === 'contain'),
  };
}
