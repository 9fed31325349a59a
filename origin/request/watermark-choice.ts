/**
 * The watermark a request stamps: one from the OSS dialect, a named one (`wm`), or free text
 * (`wmt`, styled by the named text watermark or the default). Free text only on signed URLs:
 * otherwise anyone could make the origin print anything on anyone's images.
 */
import type { PresetCatalog } from '../../presets/preset-registry.js';
import { InvalidRequestError } from '../../transforms/errors.js';
import type { RequestedSpec } from '../../transforms/params.js';
import { DEFAULT_TEXT_STYLE, oneOrList, watermarkList, type Watermark, type Watermarks } from '../../transforms/watermark.js';

export function chooseWatermark(
  spec: RequestedSpec,
  fromOss: Watermarks | undefined,
  catalog: PresetCatalog,
  signed: boolean,
): Watermarks | undefined {
  const refuse = (param: string, message: string): never => {
    throw new InvalidRequestError([{ param, message }]);
  };
  if (fromOss) {
    const marks = watermarkList(fromOss);
    if (marks.some((m) => m.kind === 'text') && !signed) refuse('x-oss-process', 'text watermarks are accepted on signed URLs only');
    // A logo named in the URL that is missing is the client's fault, not the operator's.
    const tagged = marks.map((m): Watermark => (m.kind === 'image' ? { ...m, fromRequest: true as const } : m));
    return oneOrList(tagged);
  }
  const named = spec.wm === undefined ? undefined : catalog.watermarks.get(spec.wm);
  if (spec.wm !== undefined && !named) refuse('wm', `no watermark named "${spec.wm}"`);
  if (spec.wmt === undefined) return named;
  if (!signed) refuse('wmt', 'free watermark text is accepted on signed URLs only');
  if (named?.kind === 'image') refuse('wmt', `"${spec.wm}" is an image watermark`);
  const style = named?.kind === 'text' ? named : DEFAULT_TEXT_STYLE;
  return { ...style, text: spec.wmt };
}
