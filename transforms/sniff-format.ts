/**
 * Decides what a source is from its first bytes, never from the key's extension or the storage's
 * Content-Type (both are whatever the uploader said). Formats we do not decode are refused here
 * (UnsupportedFormatError) before libvips sees them; SVG is only let through when it references nothing outside
 * itself, since librsvg would otherwise read files or URLs named in the document.
 */
import { UnsupportedFormatError } from './errors.js';

export type InputFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif' | 'heic' | 'tiff' | 'svg';

/** Major brands of HEVC-coded HEIF (phones) and of generic HEIF, as the HEIC decoder accepts them. */
const HEIC_BRANDS: ReadonlySet<string> = new Set(['heic', 'heix', 'hevc', 'hevx', 'mif1', 'msf1']);

const ascii = (bytes: Uint8Array, start: number, end: number): string =>
  String.fromCharCode(...bytes.subarray(start, end));

/** ISO-BMFF brands (major and compatible) from the leading `ftyp` box, if there is one. */
function ftypBrands(bytes: Uint8Array): string[] {
  if (bytes.length < 16 || ascii(bytes, 4, 8) !== 'ftyp') return [];
  const size = Math.min(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0), bytes.length, 256);
  const brands = [ascii(bytes, 8, 12)];
  for (let i = 16; i + 4 <= size; i += 4) brands.push(ascii(bytes, i, i + 4));
  return brands;
}

export function sniffFormat(bytes: Uint8Array, options: { allowSvg: boolean }): InputFormat {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && ascii(bytes, 0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a')) return 'gif';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  if (bytes.length >= 4 && (ascii(bytes, 0, 4) === 'II*\0' || ascii(bytes, 0, 4) === 'MM\0*')) return 'tiff';
  const brands = ftypBrands(bytes);
  if (brands.includes('avif') || brands.includes('avis')) return 'avif';
  if (brands[0] !== undefined && HEIC_BRANDS.has(brands[0])) return 'heic';
  if (brands.length > 0) {
    throw new UnsupportedFormatError('ISO-BMFF images other than AVIF and HEIC/HEIF are not supported');
  }
  if (looksLikeSvg(bytes)) {
    if (!options.allowSvg) throw new UnsupportedFormatError('SVG sources are disabled (ORIGIN_ALLOW_SVG)');
    assertSelfContainedSvg(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    return 'svg';
  }
  throw new UnsupportedFormatError(`not a supported image (${describeUnsupported(bytes)})`);
}

function describeUnsupported(bytes: Uint8Array): string {
  if (bytes.length >= 2 && ascii(bytes, 0, 2) === 'BM') return 'BMP';
  if ((bytes[0] === 0xff && bytes[1] === 0x0a) || ascii(bytes, 4, 8) === 'JXL ') return 'JPEG XL';
  if (bytes.length === 0) return 'empty file';
  return 'unrecognised content';
}

function looksLikeSvg(bytes: Uint8Array): boolean {
  // An SVG names its root element early, after an optional XML declaration, comments or doctype.
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 4096))
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  return head.startsWith('<') && /<svg[\s>]/i.test(head);
}

// Only raster images embedded as data: URLs may be pulled in; nested SVG could hide references.
const SAFE_DATA_URL = /^data:image\/(png|jpeg|gif|webp);/i;

/** Refuses SVG that could make librsvg read a file or a URL: entities, hrefs, url(), @import. */
function assertSelfContainedSvg(text: string): void {
  const refuse = (why: string): never => {
    throw new UnsupportedFormatError(`SVG with external references is not supported (${why})`, 'UNSAFE_SVG');
  };
  if (/<!ENTITY/i.test(text)) refuse('entity declaration');
  if (/@import/i.test(text)) refuse('@import');
  for (const match of text.matchAll(/href\s*=\s*(["'])(.*?)\1/gis)) {
    const target = (match[2] ?? '').trim();
    if (!target.startsWith('#') && !SAFE_DATA_URL.test(target)) refuse('href');
  }
  for (const match of text.matchAll(/url\(\s*(["']?)(.*?)\1\s*\)/gis)) {
    const target = (match[2] ?? '').trim();
    if (!target.startsWith('#') && !SAFE_DATA_URL.test(target)) refuse('url()');
  }
}
