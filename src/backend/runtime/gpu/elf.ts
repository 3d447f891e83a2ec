/**
 * The DT_NEEDED entries (sonames of the shared libraries it links) of an ELF64 little-endian shared object, read from
 * its section headers (.dynamic and the string table it links to). `gpu status` asks the installed CUDA provider
 * itself which CUDA and cuDNN libraries it needs, rather than keeping a table per ORT version. Hand-written: about 40
 * lines against the ELF spec, where an npm ELF parser would be a dependency for one field; `readelf` is not on every
 * machine.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const SHT_DYNAMIC = 6;
const DT_NEEDED = 1;

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, offset);
  if (n !== length) throw new Error('truncated ELF file');
  return buf;
}

/** Sonames the file needs, in order; undefined when it is not an ELF64 little-endian file. Throws on read errors. */
export function elfNeeded(file: string): string[] | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 64) return undefined;
    const header = readAt(fd, 0, 64);
    // \x7fELF, class 2 (64-bit), data 1 (little-endian).
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return undefined;
    const shoff = Number(header.readBigUInt64LE(0x28));
    const shentsize = header.readUInt16LE(0x3a);
    const shnum = header.readUInt16LE(0x3c);
    if (!shoff || shentsize < 64 || shoff + shnum * shentsize > size) return undefined;
    const sections = readAt(fd, shoff, shnum * shentsize);
    const section = (i: number) => ({
      type: sections.readUInt32LE(i * shentsize + 4),
      offset: Number(sections.readBigUInt64LE(i * shentsize + 0x18)),
      size: Number(sections.readBigUInt64LE(i * shentsize + 0x20)),
      link: sections.readUInt32LE(i * shentsize + 0x28),
    });
    for (let i = 0; i < shnum; i++) {
      const dyn = section(i);
      if (dyn.type !== SHT_DYNAMIC || dyn.link >= shnum) continue;
      const strtab = section(dyn.link);
      if (dyn.offset + dyn.size > size || strtab.offset + strtab.size > size) return undefined;
      const entries = readAt(fd, dyn.offset, dyn.size);
      const strings = readAt(fd, strtab.offset, strtab.size);
      const needed: string[] = [];
      for (let at = 0; at + 16 <= entries.length; at += 16) {
        const tag = entries.readBigInt64LE(at);
        if (tag === 0n) break;
        if (tag === BigInt(DT_NEEDED)) {
          const start = Number(entries.readBigUInt64LE(at + 8));
          const end = strings.indexOf(0, start);
          if (start < strings.length) needed.push(strings.toString('latin1', start, end < 0 ? strings.length : end));
        }
      }
      return needed;
    }
    return [];
  } finally {
    closeSync(fd);
  }
}
