/**
 * Test material: a HEIF file with item properties added to its primary image, made from the
 * corpus HEIC without re-encoding it (no HEVC encoder is at hand): a rotation (`irot`), a colour
 * profile (`colr`). The new properties go at the end of `ipco`, the primary item's `ipma` entry
 * names them, the enclosing box sizes grow, and the `iloc` offsets into `mdat` move with it.
 * Handles what libheif's `heif-enc` writes: `ipma` version 0 with 1-byte indices and an `iloc`
 * with a base offset or absolute extent offsets.
 */

interface Box {
  readonly type: string;
  readonly offset: number;
  readonly size: number;
}

function boxesIn(bytes: Buffer, start: number, end: number): Box[] {
  const found: Box[] = [];
  for (let offset = start; offset + 8 <= end; ) {
    const size = bytes.readUInt32BE(offset);
    if (size < 8) throw new Error('unsupported box size in the HEIF fixture');
    found.push({ type: bytes.toString('latin1', offset + 4, offset + 8), offset, size });
    offset += size;
  }
  return found;
}

function only(boxes: Box[], type: string): Box {
  const box = boxes.find((b) => b.type === type);
  if (!box) throw new Error(`no ${type} box in the HEIF fixture`);
  return box;
}

export function box(type: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + payload.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, payload]);
}

/** `irot`: anticlockwise rotation in quarter turns (HEIF's own orientation). */
export const irot = (quarterTurnsAnticlockwise: 1 | 2 | 3): Buffer => box('irot', Buffer.from([quarterTurnsAnticlockwise]));

/** `colr` of type `prof`: an ICC profile. */
export const colrProfile = (icc: Buffer): Buffer => box('colr', Buffer.concat([Buffer.from('prof', 'latin1'), icc]));

/** `colr` of type `nclx`: code points of ITU-T H.273. */
export function colrNclx(primaries: number, transfer: number, matrix: number, fullRange: boolean): Buffer {
  const payload = Buffer.alloc(11);
  payload.write('nclx', 0, 'latin1');
  payload.writeUInt16BE(primaries, 4);
  payload.writeUInt16BE(transfer, 6);
  payload.writeUInt16BE(matrix, 8);
  payload[10] = fullRange ? 0x80 : 0;
  return box('colr', payload);
}

export function withPrimaryProperties(heif: Buffer, properties: readonly Buffer[]): Buffer {
  const top = boxesIn(heif, 0, heif.length);
  const meta = only(top, 'meta');
  const inMeta = boxesIn(heif, meta.offset + 12, meta.offset + meta.size);
  const pitm = only(inMeta, 'pitm');
  const primary = heif.readUInt16BE(pitm.offset + 12);
  const iprp = only(inMeta, 'iprp');
  const inIprp = boxesIn(heif, iprp.offset + 8, iprp.offset + iprp.size);
  const ipco = only(inIprp, 'ipco');
  const ipma = only(inIprp, 'ipma');
  if (heif[ipma.offset + 8] !== 0 || (heif.readUInt32BE(ipma.offset + 8) & 1) !== 0) throw new Error('ipma layout not handled');
  const existing = boxesIn(heif, ipco.offset + 8, ipco.offset + ipco.size).length;
  const added = Buffer.concat(properties);
  const indices = Buffer.from(properties.map((_, i) => existing + 1 + i));

  // The new ipma: the primary item's entry gets the new indices.
  const entries = heif.readUInt32BE(ipma.offset + 12);
  const parts: Buffer[] = [heif.subarray(ipma.offset + 8, ipma.offset + 16)];
  let at = ipma.offset + 16;
  for (let i = 0; i < entries; i++) {
    const item = heif.readUInt16BE(at);
    const count = heif[at + 2]!;
    const own = heif.subarray(at + 3, at + 3 + count);
    const extra = item === primary ? indices : Buffer.alloc(0);
    parts.push(Buffer.from([item >> 8, item & 0xff, count + extra.length]), own, extra);
    at += 3 + count;
  }
  const newIpma = box('ipma', Buffer.concat(parts));
  const newIpco = box('ipco', Buffer.concat([heif.subarray(ipco.offset + 8, ipco.offset + ipco.size), added]));
  const iprpChildren = inIprp.map((b) => (b === ipco ? newIpco : b === ipma ? newIpma : heif.subarray(b.offset, b.offset + b.size)));
  const newIprp = box('iprp', Buffer.concat(iprpChildren));
  const growth = newIprp.length - iprp.size;

  const metaChildren = inMeta.map((b) => (b === iprp ? newIprp : Buffer.from(heif.subarray(b.offset, b.offset + b.size))));
  const iloc = metaChildren[inMeta.indexOf(only(inMeta, 'iloc'))]!;
  shiftIloc(iloc, growth);
  const newMeta = box('meta', Buffer.concat([heif.subarray(meta.offset + 8, meta.offset + 12), ...metaChildren]));
  return Buffer.concat(top.map((b) => (b === meta ? newMeta : heif.subarray(b.offset, b.offset + b.size))));
}

/** Moves every file offset in an `iloc` box (a copy, edited in place) by `delta` bytes. */
function shiftIloc(iloc: Buffer, delta: number): void {
  const version = iloc[8]!;
  if (version > 1) throw new Error('iloc version not handled');
  const offsetSize = iloc[12]! >> 4;
  const lengthSize = iloc[12]! & 0xf;
  const baseSize = iloc[13]! >> 4;
  const indexSize = version === 1 ? iloc[13]! & 0xf : 0;
  const read = (at: number, size: number) => (size === 0 ? 0 : size === 4 ? iloc.readUInt32BE(at) : Number(iloc.readBigUInt64BE(at)));
  const write = (at: number, size: number, value: number) =>
    size === 4 ? iloc.writeUInt32BE(value, at) : iloc.writeBigUInt64BE(BigInt(value), at);
  const items = iloc.readUInt16BE(14);
  let at = 16;
  for (let i = 0; i < items; i++) {
    at += 2; // item ID
    const method = version === 1 ? iloc.readUInt16BE(at) & 0xf : 0;
    if (version === 1) at += 2;
    at += 2; // data reference index
    const base = read(at, baseSize);
    const movesBase = method === 0 && baseSize > 0 && base > 0;
    if (movesBase) write(at, baseSize, base + delta);
    at += baseSize;
    const extents = iloc.readUInt16BE(at);
    at += 2;
    for (let e = 0; e < extents; e++) {
      at += indexSize;
      if (method === 0 && !movesBase && offsetSize > 0) write(at, offsetSize, read(at, offsetSize) + delta);
      at += offsetSize + lengthSize;
    }
  }
}
