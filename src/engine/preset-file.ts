/**
 * A presets file: vendor ranges newer than the package's own, written by
 * `proxy-aware refresh-presets` and named by the `presetsFile` option or the
 * `PROXY_AWARE_PRESETS` environment variable. Read and checked once, at
 * startup; a vendor it has replaces the bundled data/presets/<vendor>.json.
 */
import { readFileSync } from 'node:fs'
import ipaddr from 'ipaddr.js'
import { ProxyAwareConfigError, show } from '../core/errors.js'
import { type PresetContext, type PresetData, VENDOR_PRESETS } from './presets.js'

/** The environment variable naming a presets file (the option wins). @internal */
export const PRESETS_ENV = 'PROXY_AWARE_PRESETS'

/** One vendor in a presets file: the layout of data/presets/<vendor>.json (see its README). @public */
export interface PresetsFileEntry {
  vendor: string
  name: string
  status: 'ok'
  /** the vendor's URL(s) the list was read from */
  source: readonly string[]
  /** `snapshot`: the date of the vendor's list (null when undated); `taken`: when it was fetched */
  retrieved: { snapshot: string | null; taken: string }
  /** the vendor's own version stamp, when the list has one */
  sourceVersion?: Readonly<Record<string, unknown>>
  /** which part of a larger vendor document was taken */
  selector?: string
  method: string
  /** canonical CIDR ranges */
  ranges: readonly string[]
}

/** The layout of a presets file (`schemaVersion` 1). @public */
export interface PresetsFile {
  schemaVersion: 1
  /** when the file was written (ISO 8601) */
  generated: string
  /** vendor name -> its data */
  presets: Readonly<Record<string, PresetsFileEntry>>
}

/** Fewest and most ranges one vendor list may have: outside, it is not a vendor's list. */
export const RANGE_LIMITS = { min: 1, max: 5000 } as const

/** Shortest prefixes accepted: a vendor owning a /7 of IPv4 or a /15 of IPv6 would be news. */
const MIN_PREFIX = { ipv4: 8, ipv6: 16 } as const

/**
 * Check one vendor's ranges and return them canonical (network address,
 * lower case, RFC 5952), in their order, each once. Throws an Error naming
 * the first bad entry: not a CIDR, host bits set, too wide, or not public
 * unicast (a private or reserved range in a vendor list is corruption, and
 * trusting it would trust the app's own network). @internal
 */
export const checkRanges = (vendor: string, ranges: unknown): string[] => {
  if (!Array.isArray(ranges)) throw new Error(`${vendor}: ranges must be an array, got ${show(ranges)}`)
  if (ranges.length < RANGE_LIMITS.min || ranges.length > RANGE_LIMITS.max) {
    throw new Error(
      `${vendor}: ${ranges.length} ranges, outside ${RANGE_LIMITS.min}-${RANGE_LIMITS.max}: not a vendor list`,
    )
  }
  const out = new Set<string>()
  for (const entry of ranges as unknown[]) {
    if (typeof entry !== 'string' || !ipaddr.isValidCIDR(entry)) {
      throw new Error(`${vendor}: ${show(entry)} is not a CIDR range`)
    }
    const [ip, prefix] = ipaddr.parseCIDR(entry)
    const kind = ip.kind()
    const network =
      kind === 'ipv4'
        ? ipaddr.IPv4.networkAddressFromCIDR(entry).toString()
        : ipaddr.IPv6.networkAddressFromCIDR(entry).toRFC5952String()
    const canonical = `${network}/${prefix}`
    const given = kind === 'ipv4' ? ip.toString() : (ip as ipaddr.IPv6).toRFC5952String()
    if (network !== given) throw new Error(`${vendor}: ${show(entry)} has host bits set (the network is ${canonical})`)
    if (prefix < MIN_PREFIX[kind]) {
      throw new Error(`${vendor}: ${show(entry)} is wider than /${MIN_PREFIX[kind]}: not a vendor range`)
    }
    if (ip.range() !== 'unicast') {
      throw new Error(`${vendor}: ${show(entry)} is not public unicast address space (${ip.range()})`)
    }
    out.add(canonical)
  }
  return [...out]
}

/** `YYYY-MM-DD` that is a real date. */
const isDate = (value: unknown): value is string =>
  typeof value === 'string' &&
  /^\d{4}-\d{2}-\d{2}$/.test(value) &&
  new Date(`${value}T00:00:00Z`).toISOString().startsWith(value)

/** Check a parsed presets file; throws an Error saying what is wrong. @internal */
export const checkPresetsFile = (file: unknown): Map<string, PresetData> => {
  const f = file as Partial<PresetsFile> | null
  if (f === null || typeof f !== 'object' || f.schemaVersion !== 1) {
    throw new Error('it is not a proxy-aware presets file (schemaVersion 1)')
  }
  if (f.presets === null || typeof f.presets !== 'object' || Object.keys(f.presets).length === 0) {
    throw new Error('it has no presets')
  }
  const out = new Map<string, PresetData>()
  for (const [vendor, data] of Object.entries(f.presets)) {
    if (!(VENDOR_PRESETS as readonly string[]).includes(vendor)) {
      throw new Error(`it has the unknown vendor ${show(vendor)} (known: ${VENDOR_PRESETS.join(', ')})`)
    }
    if (data?.vendor !== vendor || data.status !== 'ok' || typeof data.name !== 'string') {
      throw new Error(`${vendor}: needs vendor ${show(vendor)}, a name and status "ok"`)
    }
    const { snapshot, taken } = data.retrieved ?? {}
    if (!(snapshot === null || isDate(snapshot)) || !isDate(taken)) {
      throw new Error(`${vendor}: retrieved needs snapshot (YYYY-MM-DD or null) and taken (YYYY-MM-DD)`)
    }
    out.set(vendor, { ...data, ranges: checkRanges(vendor, data.ranges) })
  }
  return out
}

/**
 * Load the presets file named by `presetsFile`, else by the environment
 * variable; undefined when neither is set. Throws ProxyAwareConfigError
 * naming the option or the variable. @internal
 */
export const loadPresetsFile = (
  option: unknown,
  env: NodeJS.ProcessEnv = process.env,
): Map<string, PresetData> | undefined => {
  const fromEnv = option === undefined
  const path = fromEnv ? env[PRESETS_ENV] : option
  const name = fromEnv ? PRESETS_ENV : 'presetsFile'
  if (fromEnv && (path === undefined || path === '')) return undefined
  if (typeof path !== 'string' || path === '') {
    throw new ProxyAwareConfigError(name, `must be the path of a presets file, got ${show(path)}`)
  }
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ProxyAwareConfigError(name, `names ${show(path)}, which cannot be read: ${(error as Error).message}`)
  }
  try {
    return checkPresetsFile(JSON.parse(text))
  } catch (error) {
    throw new ProxyAwareConfigError(
      name,
      `names ${show(path)}, which is not valid: ${error instanceof SyntaxError ? `not JSON (${error.message})` : (error as Error).message}. Write it with npx proxy-aware refresh-presets`,
    )
  }
}

/**
 * What every reader of vendor ranges compiles from: the options (platform,
 * forwarding rule) with a presets file's data when one is named, so that
 * `trust`, `clientIpHeader`, `azureFrontDoorId` and `explain` agree. @internal
 */
export const presetContextOf = (options: PresetContext & { presetsFile?: unknown }): PresetContext => {
  const presets = loadPresetsFile(options.presetsFile)
  return presets === undefined ? options : { ...options, presets }
}
