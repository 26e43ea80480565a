/**
 * CRC32c (Castagnoli), for the PP2_TYPE_CRC32C TLV. The PROXY protocol
 * (haproxy doc/proxy-protocol.txt, 2020/03/05, section 2.2.3) points to
 * RFC 4960 Appendix B: reflected polynomial 0x82F63B78, initial value and
 * final XOR 0xFFFFFFFF (the RevEng catalogue's CRC-32/ISCSI, whose check
 * value for "123456789" is 0xE3069283; test/proxy-protocol-parse.ts checks it).
 * Node 20 has no built-in CRC32c.
 */

const TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    t[n] = c
  }
  return t
})()

/** Feed `b[from, to)` into a running (pre-inversion) crc. @internal */
export const crcUpdate = (crc: number, b: Uint8Array, from: number, to: number): number => {
  for (let i = from; i < to; i++) crc = TABLE[(crc ^ b[i]!) & 0xff]! ^ (crc >>> 8)
  return crc
}

/** Feed `n` zero bytes. @internal */
export const crcZeros = (crc: number, n: number): number => {
  for (let i = 0; i < n; i++) crc = TABLE[crc & 0xff]! ^ (crc >>> 8)
  return crc
}

/** The CRC32c of `b` as an unsigned 32-bit number. @internal */
export const crc32c = (b: Uint8Array): number => (crcUpdate(-1, b, 0, b.length) ^ -1) >>> 0
