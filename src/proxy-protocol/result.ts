/** The parsers' result type. @internal */
import type { ProxyHeader, ProxyProtocolRejection } from './types.js'

export type ParseResult =
  | { ok: true; header: ProxyHeader }
  | { ok: false; reason: ProxyProtocolRejection; detail: string }
  /** the bytes so far are a valid beginning: wait for more */
  | undefined

export const fail = (reason: ProxyProtocolRejection, detail: string): ParseResult => ({ ok: false, reason, detail })

/** A byte for a log line: printable ASCII as itself, the rest as \xNN. */
export const showByte = (b: number): string =>
  b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`

export const NO_TLVS = (): ProxyHeader['tlvs'] => ({ raw: [] })
