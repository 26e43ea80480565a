/**
 * Untrusted text (a header value, a mirror's body, an option value) made
 * safe to print or log: every character a terminal or a log viewer may act
 * on becomes a JSON `\uXXXX` escape. `JSON.stringify` alone escapes only
 * C0 (U+0000-U+001F): DEL, the C1 controls (U+0080-U+009F, among them
 * U+009B, a one-byte CSI for some terminals), the line and paragraph
 * separators and the format characters (bidi overrides U+202A-U+202E and
 * isolates U+2066-U+2069, zero-width characters) pass through it.
 */

/**
 * Control (Cc: C0, DEL, C1), format (Cf: bidi controls, zero-width, soft
 * hyphen...), line and paragraph separators (Zl, Zp) and lone surrogates
 * (Cs). @internal
 */
export const UNSAFE_CHARS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu

const hex4 = (unit: number): string => `\\u${unit.toString(16).padStart(4, '0')}`

/** Each UTF-16 unit of `ch` as `\uXXXX` (a pair for a code point past U+FFFF, as JSON writes it). */
const escapeChar = (ch: string): string =>
  ch.length === 1 ? hex4(ch.charCodeAt(0)) : hex4(ch.charCodeAt(0)) + hex4(ch.charCodeAt(1))

/**
 * Replace every unsafe character of `text` by its `\uXXXX` escape; the rest
 * (backslashes included) is left as it is, so text already escaped stays
 * the same. For messages built from escaped parts, at the point they are
 * printed. @internal
 */
export const escapeControls = (text: string): string => text.replace(UNSAFE_CHARS, escapeChar)

/**
 * `text` as the inside of a JSON string (quotes and backslashes escaped),
 * with every unsafe character escaped: `JSON.parse(`"${escapeText(s)}"`)`
 * is `s`. For untrusted text printed without quotes. @internal
 */
export const escapeText = (text: string): string => escapeControls(JSON.stringify(text).slice(1, -1))

/**
 * `value` as JSON with every unsafe character escaped (still JSON: the line
 * breaks of `indent` are kept, strings hold none). @internal
 */
export const safeJson = (value: unknown, indent?: number): string =>
  (JSON.stringify(value, null, indent) ?? String(value)).split('\n').map(escapeControls).join('\n')
