// The window as the X server shows it, as PNG: Xvfb started with `-fbdir DIR` keeps its screen
// in `DIR/Xvfb_screen0`, an XWD image. WebKitWebDriver's own screenshot waits for the web
// process's next frame, which a window without accelerated compositing (what the app uses where
// there is no GPU, as under Xvfb) does not always present: the request then hangs.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

/** The screen Xvfb writes in `REGIE_E2E_FBDIR`, as PNG bytes; `null` without it. */
export function captureScreen() {
  const dir = process.env.REGIE_E2E_FBDIR;
  return dir ? xwdToPng(readFileSync(join(dir, 'Xvfb_screen0'))) : null;
}

/** An XWD image of 24 or 32 bits per pixel (ZPixmap, true colour) as PNG. */
export function xwdToPng(xwd) {
  const field = (i) => xwd.readUInt32BE(i * 4);
  const [headerSize, version, format] = [field(0), field(1), field(2)];
  const [width, height, byteOrder, bitsPerPixel, bytesPerLine] = [field(4), field(5), field(7), field(11), field(12)];
  const [redMask, greenMask, blueMask, colours] = [field(14), field(15), field(16), field(19)];
  if (version !== 7 || format !== 2 || (bitsPerPixel !== 32 && bitsPerPixel !== 24)) {
    throw new Error(`screen image not understood (XWD version ${version}, format ${format}, ${bitsPerPixel} bits)`);
  }
  const start = headerSize + colours * 12;
  const bytes = bitsPerPixel / 8;
  if (xwd.length < start + bytesPerLine * height) throw new Error('screen image shorter than its header says');
  const shift = (mask) => 31 - Math.clz32(mask & -mask);
  const [rs, gs, bs] = [shift(redMask), shift(greenMask), shift(blueMask)];
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = start + y * bytesPerLine;
    const out = y * (width * 3 + 1) + 1;
    for (let x = 0; x < width; x++) {
      const at = row + x * bytes;
      const p = bytes === 4
        ? (byteOrder === 0 ? xwd.readUInt32LE(at) : xwd.readUInt32BE(at))
        : (byteOrder === 0 ? xwd.readUIntLE(at, 3) : xwd.readUIntBE(at, 3));
      raw[out + x * 3] = (p & redMask) >>> rs;
      raw[out + x * 3 + 1] = (p & greenMask) >>> gs;
      raw[out + x * 3 + 2] = (p & blueMask) >>> bs;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
