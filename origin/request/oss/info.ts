/**
 * The JSON shapes of Alibaba OSS's `image/info` and `image/average-hue`, so clients written
 * against OSS keep working when the hostname points here. Values are strings inside `{value}`
 * objects, as OSS sends them; EXIF tags beyond orientation are not reported (metadata is not kept).
 */
import type { ImageInfo } from '../../../transforms/describe-image.js';

const OSS_FORMAT_NAMES: Readonly<Record<ImageInfo['format'], string>> = {
  jpeg: 'jpg', png: 'png', gif: 'gif', webp: 'webp', avif: 'avif', heic: 'heic', tiff: 'tiff', svg: 'svg',
};

export function toOssInfo(info: ImageInfo): Record<string, { value: string }> {
  return {
    FileSize: { value: String(info.bytes) },
    Format: { value: OSS_FORMAT_NAMES[info.format] },
    // OSS reports the stored size, before EXIF orientation, like the file's header says.
    ImageHeight: { value: String(info.orientation >= 5 ? info.width : info.height) },
    ImageWidth: { value: String(info.orientation >= 5 ? info.height : info.width) },
    ...(info.orientation !== 1 && { Orientation: { value: String(info.orientation) } }),
  };
}

export function toOssAverageHue(info: ImageInfo): { RGB: string } {
  return { RGB: `0x${info.averageColor.slice(1)}` };
}
