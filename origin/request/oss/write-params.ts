/**
 * Collected OSS operations → native query parameters, in one fixed order with defaults left out,
 * so that equal requests are equal strings before the spec parser and canonicalisation see them.
 * The only place that knows the native spelling (`spec.ts`) of what the OSS readers gathered.
 */
import type { Collected } from './collected.js';

export function writeParams(c: Collected): URLSearchParams {
  const params: [string, string][] = [];
  const put = (name: string, value: string | number | undefined) => {
    if (value !== undefined) params.push([name, String(value)]);
  };
  const r = c.resize;
  put('w', r?.width);
  put('h', r?.height);
  put('fit', r?.fit);
  put('bg', r?.background);
  if (r?.enlarge) put('enlarge', 1);
  put('scale', r?.scale);
  if (c.crop) {
    const { x, y, width, height, gravity } = c.crop;
    put('crop', `${x},${y},${width},${height}`);
    if (gravity !== 'nw') put('cropg', gravity);
  }
  if (c.indexCrop) put('icrop', `${c.indexCrop.axis},${c.indexCrop.size},${c.indexCrop.index}`);
  if (c.rotate) put('rot', c.rotate);
  put('round', c.round);
  put('circle', c.circle);
  put('blur', c.blur);
  put('sharpen', c.sharpen);
  put('bri', c.bright);
  put('con', c.contrast);
  put('q', c.quality);
  put('fm', c.format);
  // OSS keeps GIF animation through its operations, except a percentage resize, which it
  // documents as making GIFs static. anim=1 keeps animation wherever the native pipeline can
  // (it serves the first frame after quarter turns, masks, levels and watermarks).
  if (r?.scale === undefined) put('anim', 1);
  return new URLSearchParams(params);
}
