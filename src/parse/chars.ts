/**
 * Character codes the scanners compare against (`charCodeAt` results), named.
 */

const TAB = 9
const SPACE = 32
export const QUOTE = 34
export const PERCENT = 37
export const COMMA = 44
export const DOT = 46
export const SLASH = 47
export const COLON = 58
export const SEMICOLON = 59
export const EQUALS = 61
export const QUESTION = 63
export const OPEN_BRACKET = 91
export const BACKSLASH = 92
export const CLOSE_BRACKET = 93

/** SP or HTAB (RFC 9110 OWS) */
export const isWs = (c: number): boolean => c === SPACE || c === TAB
