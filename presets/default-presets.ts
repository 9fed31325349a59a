/**
 * The presets and watermarks the project ships (used unless `ORIGIN_PRESETS` names the operator's
 * own file): the handful of variants a social feed asks for. Widths are CSS pixels; clients add
 * `dpr` (or `dpr=auto` with client hints) and the origin negotiates the format unless `fm` is given.
 */
import type { PresetFile } from './preset-schema.js';

const DEFAULT_PRESETS = {
  // Grid and search thumbnails: a square crop of the interesting part.
  thumb: {
    params: { w: 200, h: 200, fit: 'cover', pos: 'attention' },
    overridable: ['dpr', 'fm'],
  },
  // Profile pictures: small, square, faces are what `attention` finds.
  avatar: {
    params: { w: 96, h: 96, fit: 'cover', pos: 'attention' },
    overridable: ['dpr', 'fm'],
    // Faces at small sizes: a higher target than the feed's.
    qualityTarget: 82,
  },
  // Feed images: phones ask `w=auto&dpr=auto` with client hints, desktops a fixed width. A long
  // screenshot shows its head, at most three times as tall as wide (a phone screen and a half).
  feed: {
    params: { w: 640, maxar: '1:3' },
    overridable: ['w', 'dpr', 'fm'],
  },
  // The full view when an image is opened: large, never enlarged.
  full: {
    params: { w: 2048, h: 2048 },
    overridable: ['dpr', 'fm'],
    qualityTarget: 80,
  },
  // Link previews (Open Graph): the 1.91:1 card every platform crops to, always JPEG for crawlers.
  share: {
    params: { w: 1200, h: 630, fit: 'cover', pos: 'attention', fm: 'jpeg' },
    cacheControl: 'public, max-age=86400',
  },
} satisfies PresetFile['presets'];

/** Examples that work with the sample images (`samples/logo.png`); real deployments name their own. */
const DEFAULT_WATERMARKS = {
  'sample-logo': { image: 'logo.png', width: 0.12, gravity: 'se', opacity: 0.8 },
  'sample-text': { text: '© image-origin 示例', size: 0.035, gravity: 'sw', opacity: 0.8 },
} satisfies PresetFile['watermarks'];

export const DEFAULT_PRESET_FILE = { presets: DEFAULT_PRESETS, watermarks: DEFAULT_WATERMARKS } satisfies PresetFile;
