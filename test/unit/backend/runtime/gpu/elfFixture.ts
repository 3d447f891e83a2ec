/** A minimal ELF64 little-endian file: a header, .dynstr, .dynamic (DT_NEEDED entries) and their section headers. */
export function minimalElf(needed: string[]): Buffer {
  const strings = Buffer.from(`\0${needed.map((n) => `${n}\0`).join('')}`, 'latin1');
  const strOffset = 64;
  const dynOffset = Math.ceil((strOffset + strings.length) / 8) * 8;
  const dyn = Buffer.alloc((needed.length + 1) * 16);
  let at = 1;
  needed.forEach((name, i) => {
    dyn.writeBigInt64LE(1n, i * 16); // DT_NEEDED
    dyn.writeBigUInt64LE(BigInt(at), i * 16 + 8);
    at += name.length + 1;
  });
  const shOffset = dynOffset + dyn.length;
  const out = Buffer.alloc(shOffset + 3 * 64);
  out.writeUInt32BE(0x7f454c46, 0);
  out[4] = 2; // ELFCLASS64
  out[5] = 1; // little-endian
  out[6] = 1;
  out.writeUInt16LE(3, 0x10); // ET_DYN
  out.writeBigUInt64LE(BigInt(shOffset), 0x28);
  out.writeUInt16LE(64, 0x34);
  out.writeUInt16LE(64, 0x3a);
  out.writeUInt16LE(3, 0x3c);
  strings.copy(out, strOffset);
  dyn.copy(out, dynOffset);
  const section = (i: number, type: number, offset: number, size: number, link: number) => {
    const b = shOffset + i * 64;
    out.writeUInt32LE(type, b + 4);
    out.writeBigUInt64LE(BigInt(offset), b + 0x18);
    out.writeBigUInt64LE(BigInt(size), b + 0x20);
    out.writeUInt32LE(link, b + 0x28);
  };
  section(1, 3, strOffset, strings.length, 0); // SHT_STRTAB
  section(2, 6, dynOffset, dyn.length, 1); // SHT_DYNAMIC, linked to .dynstr
  return out;
}
