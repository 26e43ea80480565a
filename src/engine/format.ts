/**
 * `formatExplanation`: an Explanation as text for a terminal or a log.
 */
import * as util from 'node:util'
import { show } from '../core/errors.js'
import { escapeControls } from '../core/escape.js'
import type { ExplainedHop, Explanation, ValueOrigin } from './explain.js'

/** Options of `formatExplanation`. @public */
export interface FormatOptions {
  /** ANSI colours (Node >= 20.12; ignored before) @default false */
  color?: boolean
}

const NO_ADDRESS = '(no address)'

type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow'
type StyleText = (style: Style, text: string, options: { validateStream: boolean }) => string

/** `x-forwarded-for` as it is usually written: `X-Forwarded-For`. */
const headerName = (name: string): string =>
  name === 'socket' || name.startsWith(':')
    ? name
    : name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())

const origin = (o: ValueOrigin<string | undefined>): string => {
  if (o.from === 'socket') return 'from the connection (socket)'
  if (o.from === 'proxy-protocol') {
    const said = o.entry === 'PP2_CLIENT_SSL' ? 'its SSL TLV has PP2_CLIENT_SSL' : `the listener has ${o.entry}`
    return `from the PROXY protocol header of the load balancer ${o.balancer} (${said})`
  }
  if (o.raw === undefined) return `no ${headerName(o.from)} header`
  const entry = o.entry !== undefined && o.entry !== o.raw ? ` (entry ${show(o.entry)})` : ''
  return `from ${headerName(o.from)}: ${show(o.raw)}${entry}`
}

/**
 * Render an explanation as a few lines of text (every control character of
 * the request's text escaped, see `escape.ts`): the client, protocol and
 * host with where each came from, one line per hop (trusted or not, and
 * by which entry), and why the walk stopped.
 *
 * @example
 * console.log(formatExplanation(proxy.explain(req), { color: process.stdout.isTTY }))
 * @public
 */
export function formatExplanation(explanation: Explanation, options: FormatOptions = {}): string {
  // util.styleText is Node >= 20.12; newer versions drop the colours when
  // process.stdout is no terminal unless told not to check: `color` decides
  const styleText = (util as { styleText?: StyleText }).styleText
  const paint = (style: Style, text: string) =>
    options.color === true && styleText ? styleText(style, text, { validateStream: false }) : text
  const { client, hops, protocol, host, reason, why } = explanation
  // every text an Explanation carries may come from a request (or be built
  // by a caller): escaped before the colours add their own escapes
  const lines = [
    `${paint('bold', 'client  ')} ${client === undefined ? paint('yellow', 'none') : paint('bold', escapeControls(client))}`,
    `${paint('bold', 'protocol')} ${escapeControls(protocol.value)}  ${paint('dim', escapeControls(origin(protocol)))}`,
    `${paint('bold', 'host    ')} ${host.value === undefined ? paint('yellow', 'none') : escapeControls(host.value)}  ${paint('dim', escapeControls(origin(host)))}`,
    '',
  ]
  const width = Math.max(...hops.map(h => escapeControls(h.address ?? NO_ADDRESS).length))
  for (const h of hops) lines.push(hopLine(h, h.address !== undefined && h.address === client, width, paint))
  lines.push('', `${paint('bold', 'stopped')}  ${escapeControls(reason)}: ${escapeControls(why)}`)
  return lines.join('\n')
}

const hopLine = (
  h: ExplainedHop,
  isClient: boolean,
  width: number,
  paint: (style: Style, text: string) => string,
): string => {
  const address = escapeControls(h.address ?? NO_ADDRESS).padEnd(width)
  const verdict = h.trusted
    ? paint(
        'green',
        `trusted by ${h.by === undefined ? '(no entry matches now)' : escapeControls(`${h.by.entry} (${h.by.kind})`)}`,
      )
    : paint('red', 'not trusted')
  return `  hop ${String(h.hop).padEnd(2)} ${address}  ${paint('dim', escapeControls(headerName(h.from)).padEnd(15))} ${verdict}${isClient ? paint('bold', '  <- client') : ''}`
}
