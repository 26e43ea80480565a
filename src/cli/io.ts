/**
 * Small helpers the commands share.
 */
import { escapeControls } from '../core/escape.js'
import type { Io } from './command.js'

/**
 * Colour on a terminal, as Node decides it for itself: FORCE_COLOR `1`,
 * `true`, `''`, `2` or `3` turn it on whatever NO_COLOR says, any other
 * value off; otherwise NO_COLOR (non-empty) or TERM=dumb turn it off
 * (https://nodejs.org/api/cli.html#force_color1-2-3, https://no-color.org,
 * https://clig.dev/#output, read 2026-11-29).
 */
export const useColor = (io: Io): boolean => {
  const force = io.env.FORCE_COLOR
  if (force !== undefined) return ['1', 'true', '', '2', '3'].includes(force)
  if ((io.env.NO_COLOR ?? '') !== '' || io.env.TERM === 'dumb') return false
  return io.stdout.isTTY === true
}

/**
 * Write text (without its final newline) to a stream, as a line, with every
 * control character but the line breaks escaped: messages quote options,
 * files, headers and a mirror's body (see `core/escape.ts`).
 */
export const print = (stream: Io['stdout'], text: string): void => {
  stream.write(`${text.split('\n').map(escapeControls).join('\n')}\n`)
}

/** Write `formatExplanation`'s text, escaped already and with its own colour escapes, as a line. */
export const printStyled = (stream: Io['stdout'], text: string): void => {
  stream.write(`${text}\n`)
}
