/**
 * `proxy-aware explain`: the decision trail for one request described on
 * the command line (trust options, the peer address, the headers).
 */
import { createTrustProxy, formatExplanation, type TrustProxyOptions } from '../index.js'
import type { Command, Io, Values } from './command.js'
import { loadConfig, UsageError } from './config.js'
import { show } from '../core/errors.js'
import { safeJson } from '../core/escape.js'
import { print, printStyled, useColor } from './io.js'
import { captureWarnings, warningLine } from './warnings.js'

const usage = `Usage: proxy-aware explain --peer <address> [options]

Show how proxy-aware decides one request: each address from the socket
peer outwards, whether it was trusted and by which trust entry, where the
walk stopped and why, and which header gave the protocol and the host.

Options:
  -p, --peer <address>         the socket peer (the address that connects to the app)
  -H, --header <'Name: value'>  a request header, like curl; repeat for more
      --https                  the connection itself is TLS
  -t, --trust <entries>        a trust entry (address, CIDR, preset); repeat or
                               separate with commas; 'true' or a hop count as the only value
  -c, --config <file>          options from a .json, .js, .mjs or .cjs file (flags win)
      --forwarded-host         read X-Forwarded-Host / Forwarded host=
      --conventions <list>     forwarding headers to read, in order: x-forwarded,forwarded
      --proto-pairing <rule>   nearest (default) or hop
      --max-hops <n>           most forwarded entries walked (default 20)
      --platform <name>        confirm the platform for fly, heroku or vercel
      --gcp-forwarding-rule <ip>  the GCP load balancer's address (gcp-lb); repeatable
      --json                   print the trail as JSON
  -h, --help                   show this help

Colour on a terminal; NO_COLOR=1 or FORCE_COLOR=0 turn it off.

Exit status: 0 explained, 1 the options are invalid, 2 usage error.

Example:
  proxy-aware explain --trust 10.0.0.0/8 --peer 10.0.0.5 \\
    -H 'X-Forwarded-For: 203.0.113.7' -H 'X-Forwarded-Proto: https'`

/** `--trust` values as a trust option: `true` and a hop count stand alone. */
const trustOf = (values: string[]): TrustProxyOptions['trust'] => {
  if (values.length === 1 && values[0] === 'true') return true
  if (values.length === 1 && /^\d+$/.test(values[0]!)) return Number(values[0])
  return values.flatMap(v => v.split(','))
}

/** `-H 'Name: value'` lines as Node's lower-cased headers; a repeated name becomes a list. */
const headersOf = (lines: string[]): Record<string, string | string[]> => {
  const headers: Record<string, string | string[]> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) {
      throw new UsageError(`--header ${show(line)} is not 'Name: value'`)
    }
    const value = line.slice(colon + 1).trim()
    const before = headers[name]
    headers[name] = before === undefined ? value : [before, value].flat()
  }
  return headers
}

/** The options: the config file's, then the flags'. */
const optionsOf = async (values: Values, io: Io): Promise<TrustProxyOptions> => {
  const options: Record<string, unknown> =
    typeof values.config === 'string' ? { ...(await loadConfig(values.config, io.cwd)) } : {}
  const list = (name: string) => (values[name] as string[] | undefined) ?? []
  if (list('trust').length > 0) options.trust = trustOf(list('trust'))
  if (values['forwarded-host'] === true) options.forwardedHost = true
  if (typeof values.conventions === 'string') options.headers = values.conventions.split(',').map(s => s.trim())
  if (typeof values['proto-pairing'] === 'string') options.protoPairing = values['proto-pairing']
  if (typeof values['max-hops'] === 'string') options.maxHops = Number(values['max-hops'])
  if (typeof values.platform === 'string') options.platform = values.platform
  if (list('gcp-forwarding-rule').length > 0) options.gcpForwardingRule = list('gcp-forwarding-rule')
  return options as unknown as TrustProxyOptions
}

export const explainCommand: Command = {
  name: 'explain',
  summary: 'show how one request (peer address and headers) is decided, hop by hop',
  usage,
  options: {
    'peer': { type: 'string', short: 'p' },
    'header': { type: 'string', short: 'H', multiple: true },
    'https': { type: 'boolean' },
    'trust': { type: 'string', short: 't', multiple: true },
    'config': { type: 'string', short: 'c' },
    'forwarded-host': { type: 'boolean' },
    'conventions': { type: 'string' },
    'proto-pairing': { type: 'string' },
    'max-hops': { type: 'string' },
    'platform': { type: 'string' },
    'gcp-forwarding-rule': { type: 'string', multiple: true },
    'json': { type: 'boolean' },
  },
  allowPositionals: false,
  async run(values, _positionals, io) {
    if (typeof values.peer !== 'string') throw new UsageError('--peer <address> is required')
    const headers = headersOf((values.header as string[] | undefined) ?? [])
    const options = await optionsOf(values, io)
    const { value: proxy, error, warnings } = await captureWarnings(() => createTrustProxy(options))
    for (const w of warnings) print(io.stderr, `warning: ${warningLine(w)}`)
    if (proxy === undefined) {
      print(io.stderr, `error: ${(error as Error).message}`)
      return 1
    }
    const explanation = proxy.explain({
      headers,
      socket: { remoteAddress: values.peer, encrypted: values.https === true },
    })
    if (values.json === true) print(io.stdout, safeJson(explanation, 2))
    else printStyled(io.stdout, formatExplanation(explanation, { color: useColor(io) }))
    return 0
  },
}
