/**
 * BlurHash encoding (the format described at blurha.sh): a short string a feed decodes into a
 * blurred placeholder while the image loads. Written from the format's description: a small DCT
 * of the image in linear light, the DC term as sRGB, AC terms quantised against their maximum,
 * everything in base 83.
 */

const BASE83 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';

function encode83(value: number, length: number): string {
  let out = '';
  for (let i = 1; i <= length; i++) out += BASE83[Math.floor(value / 83 ** (length - i)) % 83];
  return out;
}

function toLinear(channel: number): number {
  const v = channel / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function toSrgb(linear: number): number {
  const v = Math.min(1, Math.max(0, linear));
  return v <= 0.0031308 ? Math.round(v * 12.92 * 255) : Math.round((1.055 * v ** (1 / 2.4) - 0.055) * 255);
}

const signedRoot = (v: number) => Math.sign(v) * Math.sqrt(Math.abs(v));

/**
 * `pixels` are `width`×`height` sRGB values with `channels` per pixel (3 or 4, alpha ignored).
 * 4×3 components suit landscape feed images; keep the input small (32 px), the cost is per pixel.
 */
export function encodeBlurhash(pixels: Uint8Array, width: number, height: number, channels: number, componentsX = 4, componentsY = 3): string {
  const factors: [number, number, number][] = [];
  for (let j = 0; j < componentsY; j++) {
    for (let i = 0; i < componentsX; i++) {
      const scale = (i === 0 && j === 0 ? 1 : 2) / (width * height);
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const basis = Math.cos((Math.PI * i * x) / width) * Math.cos((Math.PI * j * y) / height);
          const at = (y * width + x) * channels;
          r += basis * toLinear(pixels[at]!);
          g += basis * toLinear(pixels[at + 1]!);
          b += basis * toLinear(pixels[at + 2]!);
        }
      }
      factors.push([r * scale, g * scale, b * scale]);
    }
  }
  const [dc, ...ac] = factors as [[number, number, number], ...[number, number, number][]];
  let hash = encode83(componentsX - 1 + (componentsY - 1) * 9, 1);
  let maximum = 1;
  if (ac.length > 0) {
    const actual = Math.max(...ac.flat().map(Math.abs));
    const quantised = Math.max(0, Math.min(82, Math.floor(actual * 166 - 0.5)));
    maximum = (quantised + 1) / 166;
    hash += encode83(quantised, 1);
  } else {
    hash += encode83(0, 1);
  }
  hash += encode83((toSrgb(dc[0]) << 16) + (toSrgb(dc[1]) << 8) + toSrgb(dc[2]), 4);
  const quantise = (v: number) => Math.max(0, Math.min(18, Math.floor(signedRoot(v / maximum) * 9 + 9.5)));
  for (const [r, g, b] of ac) hash += encode83(quantise(r) * 19 * 19 + quantise(g) * 19 + quantise(b), 2);
  return hash;
}
