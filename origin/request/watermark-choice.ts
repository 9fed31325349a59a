/**
 * The watermark a request stamps: one from the OSS dialect, a named one (`wm`), or free text
 * (`wmt`, styled by the named text watermark or the default). Free text only on signed URLs:
 * otherwise anyone could make the origin print anything on anyone's images, and mint a variant
 * per text. `ORIGIN_PUBLIC_TEXT_WATERMARK=true` accepts it unsigned (OSS apps put `@username`
 * in plain URLs), capped at `PUBLIC_TEXT_MAX_BYTES`; the font is never the URL's to choose: the
 * preset file's text watermark named by `wm`, or the default style.
 */
import type { PresetCatalog } from '../../presets/preset-registry.js';
import { InvalidRequestError } from '../../transforms/errors.js';
import type { RequestedSpec } from '../../transforms/params.js';
import { DEFAULT_TEXT_STYLE, hasText, oneOrList, watermarkList, type Watermark, type Watermarks } from '../../transforms/watermark.js';

/** Unsigned free text (public text watermarks): OSS's own cap, 64 bytes of UTF-8 (21 CJK characters). */
export const PUBLIC_TEXT_MAX_BYTES = 64;

export function chooseWatermark(
  spec: RequestedSpec,
  fromOss: Watermarks | undefined,
  catalog: PresetCatalog,
  signed: boolean,
  publicText = false,
): Watermarks | undefined {
  const refuse = (param: string, message: string): never => {
    throw new InvalidRequestError([{ param, message }]);
  };
  const textAllowed = signed || publicText;
  if (fromOss) {
    const marks = watermarkList(fromOss);
    // OSS text is already at most 64 bytes (its own grammar's cap).
    if (marks.some(hasText) && !textAllowed) refuse('x-oss-process', 'text watermarks are accepted on signed URLs only');
    // A logo named in the URL that is missing is the client's fault, not the operator's.
    const tagged = marks.map((m): Watermark => {
      if (m.kind === 'image') return { ...m, fromRequest: true as const };
      if (m.kind !== 'row') return m;
      const [first, second] = m.parts.map((p) => (p.kind === 'image' ? { ...p, fromRequest: true as const } : p));
      return first && second ? { ...m, parts: [first, second] } : m;
    });
    return oneOrList(tagged);
  }
  const named = spec.wm === undefined ? undefined : catalog.watermarks.get(spec.wm);
  if (spec.wm !== undefined && !named) refuse('wm', `no watermark named "${spec.wm}"`);
  if (spec.wmt === undefined) return named;
  if (!textAllowed) refuse('wmt', 'free watermark text is accepted on signed URLs only');
  if (!signed && Buffer.byteLength(spec.wmt, 'utf8') > PUBLIC_TEXT_MAX_BYTES) {
    refuse('wmt', `unsigned watermark text must be at most ${PUBLIC_TEXT_MAX_BYTES} bytes of UTF-8`);
  }
  if (named?.kind === 'image') refuse('wmt', `"${spec.wm}" is an image watermark`);
  // A row (logo + text) takes the request's text in its text part: the "logo + @username" stamp.
  if (named?.kind === 'row') {
    const [first, second] = named.parts.map((p) => (p.kind === 'text' ? { ...p, text: spec.wmt! } : p));
    return first && second ? { ...named, parts: [first, second] } : named;
  }
  const style = named?.kind === 'text' ? named : DEFAULT_TEXT_STYLE;
  return { ...style, text: spec.wmt };
}
