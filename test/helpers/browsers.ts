/** Real `Accept` headers of image requests, with the format token each must get. */
import type { FormatToken } from '../../transforms/formats.js';

export const BROWSER_ACCEPTS: readonly (readonly [browser: string, accept: string, token: FormatToken])[] = [
  ['Chrome', 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', 'avif'],
  ['Firefox', 'image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5', 'avif'],
  ['Safari 16', 'image/webp,image/avif,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5', 'avif'],
  ['Safari 17', 'image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5', 'avif'],
  ['Safari 14', 'image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5', 'webp'],
  ['Android 4.4 WebView', 'image/webp,*/*;q=0.8', 'webp'],
  ['Safari 13', 'image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5', 'legacy'],
  ['Android 4.1 browser', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'legacy'],
  ['IE 11', 'image/png, image/svg+xml, image/*;q=0.8, */*;q=0.5', 'legacy'],
  ['curl', '*/*', 'legacy'],
];
