/**
 * Reads what the HEIC decoder does not hand over from a HEIF file's boxes (ISO/IEC 23008-12):
 * the colour description (`colr`: an ICC profile, or nclx code points), without decoding. Pure
 * byte parsing over the item properties
 * (`meta` → `iprp` → `ipco`), bounded by the buffer; malformed boxes end the walk.
 */

export type HeifColour =
  | { readonly kind: 'icc'; readonly profile: Buffer }
  /** nclx colour primaries (ITU-T H.273): 1 BT.709/sRGB, 9 BT.2020, 12 Display P3 (SMPTE EG 432). */
  | { readonly kind: 'nclx'; readonly primaries: number; readonly transfer: number };


interface Box {
  readonly type: string;
  /** Payload start and end (after the header). */
  readonly start: number;
  readonly end: number;
}

function* children(bytes: Buffer, start: number, end: number): Generator<Box> {
  let offset = start;
  while (offset + 8 <= end) {
    let size = bytes.readUInt32BE(offset);
    let header = 8;
    if (size === 1) {
      if (offset + 16 > end) return;
      size = Number(bytes.readBigUInt64BE(offset + 8));
      header = 16;
    } else if (size === 0) {
      size = end - offset;
    }
    if (size < header || offset + size > end) return;
    yield { type: bytes.toString('latin1', offset + 4, offset + 8), start: offset + header, end: offset + size };
    offset += size;
  }
}

function child(bytes: Buffer, parent: Box | undefined, type: string, skip = 0): Box | undefined {
  if (!parent) return undefined;
  for (const box of children(bytes, parent.start + skip, parent.end)) if (box.type === type) return box;
  return undefined;
}

function readColour(bytes: Buffer, box: Box): HeifColour | undefined {
  if (box.end - box.start < 4) return undefined;
  const kind = bytes.toString('latin1', box.start, box.start + 4);
  if (kind === 'prof' || kind === 'rICC') return { kind: 'icc', profile: Buffer.from(bytes.subarray(box.start + 4, box.end)) };
  if (kind === 'nclx' && box.end - box.start >= 8) {
    return { kind: 'nclx', primaries: bytes.readUInt16BE(box.start + 4), transfer: bytes.readUInt16BE(box.start + 6) };
  }
  return undefined;
}

/** The first colour property (`colr`) of the file: phones write one, for the primary image. */
export function readHeifColour(bytes: Buffer): HeifColour | undefined {
  const top: Box = { type: '', start: 0, end: bytes.length };
  // `meta` is a full box: 4 bytes of version and flags before its children.
  const ipco = child(bytes, child(bytes, child(bytes, top, 'meta'), 'iprp', 4), 'ipco');
  if (!ipco) return undefined;
  for (const box of children(bytes, ipco.start, ipco.end)) if (box.type === 'colr') return readColour(bytes, box);
  return undefined;
}
