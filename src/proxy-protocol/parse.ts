/**
 * Telling the two versions apart (haproxy doc/proxy-protocol.txt, revision
 * 2020/03/05, section 2.2): the v2 signature, else "PROXY" for v1, else
 * not a PROXY protocol header. The parsers are incremental in the simplest
 * way: called again with all the bytes so far, they answer "need more"
 * (undefined) until the header is complete, but reject as soon as the
 * bytes so far cannot begin a valid header.
 */
import { fail, type ParseResult, showByte } from './result.js'
import { parseV1, V1_SIGNATURE } from './v1.js'
import { checkV2Fixed, parseV2, V2_FIXED, V2_SIGNATURE } from './v2.js'

export type { ParseResult } from './result.js'

/** The default and largest accepted `maxHeaderBytes` (16 + 65535 for v2). @internal */
export const DEFAULT_MAX_HEADER = 4096
export const LARGEST_HEADER = V2_FIXED + 0xffff

/**
 * How the first bytes of a connection relate to the PROXY signatures:
 * 1 a full signature, 0 a prefix of one (wait), -1 neither. @internal
 */
export const signatureMatch = (b: Uint8Array): -1 | 0 | 1 => {
  const sig = b[0] === 0x0d ? V2_SIGNATURE : V1_SIGNATURE
  const n = Math.min(b.length, sig.length)
  for (let i = 0; i < n; i++) if (b[i] !== sig[i]) return -1
  return n === sig.length ? 1 : 0
}

/**
 * Parse the PROXY protocol header at the start of `b`: `undefined` while
 * more bytes are needed, else the header or the reason it is refused.
 * Never throws. @public
 */
export const parseProxyHeader = (b: Buffer, maxHeaderBytes: number = DEFAULT_MAX_HEADER): ParseResult => {
  const match = signatureMatch(b)
  if (match < 0) {
    const i = b.findIndex((c, i) => c !== (b[0] === 0x0d ? V2_SIGNATURE : V1_SIGNATURE)[i])
    return fail(
      'missing-header',
      `the connection does not start with a PROXY protocol signature (byte ${i} is "${showByte(b[i]!)}")`,
    )
  }
  if (match === 0) return undefined
  if (b[0] === 0x50) return parseV1(b)
  if (b.length < V2_FIXED) return undefined
  const total = checkV2Fixed(b, maxHeaderBytes)
  if (typeof total !== 'number') return total
  return b.length < total ? undefined : parseV2(b, total)
}
