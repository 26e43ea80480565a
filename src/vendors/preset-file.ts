/**
 * A presets file: vendor ranges newer than the package's own, written by
 * `proxy-aware refresh-presets` and named by the `presetsFile` option or the
 * `PROXY_AWARE_PRESETS` environment variable. Read and checked once, at
 * startup; a vendor it has replaces the bundled data/presets/<vendor>.json.
 */
import { readFileSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { ProxyAwareConfigError, show } from '../core/errors.js'
import { bool, emitWarning, type Warn } from '../core/options.js'
import { type PresetContext, type PresetData, presetData, VENDOR_PRESETS } from './presets.js'
import { checkVendorRange, coverage } from './ranges.js'

/** The environment variable naming a presets file (the option wins). @internal */
export const PRESETS_ENV = 'PROXY_AWARE_PRESETS'

/** One vendor in a presets file: the layout of data/presets/<vendor>.json (see its README). @public */
export interface PresetsFileEntry {
  vendor: string
  name: string
  status: 'ok'
  /** the vendor's URL(s) the list was read from */
  source: readonly string[]
  /**
   * `snapshot`: the date of the vendor's list (null when undated); `taken`:
   * when it was fetched; `snapshotFrom`: where the snapshot date came from
   * (the vendor's own field, the HTTP Last-Modified header, the file's name
   * or modification time, or the day of the refresh)
   */
  retrieved: { snapshot: string | null; taken: string; snapshotFrom?: SnapshotFrom }
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

/**
 * Check one vendor's ranges and return them canonical (network address,
 * lower case, RFC 5952), in their order, each once. Throws an Error naming
 * the first bad entry: one `trust` would refuse, not a CIDR, host bits set,
 * non-canonical IPv4 text, too wide, or partly special-purpose space (a
 * private or reserved range in a vendor list is corruption, and trusting it
 * would trust the app's own network); see checkVendorRange. @internal
 */
export const checkRanges = (vendor: string, ranges: unknown): string[] => {
  if (!Array.isArray(ranges)) throw new Error(`${vendor}: ranges must be an array, got ${show(ranges)}`)
  if (ranges.length < RANGE_LIMITS.min || ranges.length > RANGE_LIMITS.max) {
    throw new Error(
      `${vendor}: ${ranges.length} ranges, outside ${RANGE_LIMITS.min}-${RANGE_LIMITS.max}: not a vendor list`,
    )
  }
  return [...new Set((ranges as unknown[]).map(entry => checkVendorRange(vendor, entry)))]
}

/** How much a list may grow past the bundled one, in ranges and in addresses per family. */
export const GROWTH_FACTOR = 2

const percentOfV4 = (n: bigint) => `${((Number(n) / 2 ** 32) * 100).toFixed(3)}% of IPv4`
/** IPv6 coverage in /64s (a network's size), for a message. */
const v6Nets = (n: bigint) => `${n >> 64n} IPv6 /64s`
const describe = (count: number, c: { ipv4: bigint; ipv6: bigint }) =>
  `${count} ranges covering ${c.ipv4} IPv4 addresses (${percentOfV4(c.ipv4)}) and ${v6Nets(c.ipv6)}`

/**
 * Refuse a list that grew past GROWTH_FACTOR times the bundled one in
 * ranges or in addresses covered (IPv4 and IPv6 separately): a hostile or
 * broken mirror serving most of the address space would make every direct
 * client choose its own IP. `override` names the switch for a real vendor
 * change. @internal
 */
export const checkGrowth = (
  vendor: string,
  ranges: readonly string[],
  before: readonly string[] | undefined,
  override: string,
): void => {
  if (before === undefined || before.length === 0) return
  const now = coverage(ranges)
  const was = coverage(before)
  const factor = BigInt(GROWTH_FACTOR)
  if (ranges.length > before.length * GROWTH_FACTOR || now.ipv4 > was.ipv4 * factor || now.ipv6 > was.ipv6 * factor) {
    throw new Error(
      `${vendor}: ${describe(ranges.length, now)}, where the bundled list has ${describe(before.length, was)}: more than ${GROWTH_FACTOR} times as much is refused as suspicious (a mirror serving most of the address space would let every client choose its own IP). Once you have checked the vendor's own list, allow it with ${override}`,
    )
  }
}

/** `YYYY-MM-DD` that is a real date. */
const isDate = (value: unknown): value is string =>
  typeof value === 'string' &&
  /^\d{4}-\d{2}-\d{2}$/.test(value) &&
  new Date(`${value}T00:00:00Z`).toISOString().startsWith(value)

/** Where a list's date came from (`retrieved.snapshotFrom`). @public */
export type SnapshotFrom = 'vendor' | 'last-modified' | 'file-name' | 'file-mtime' | 'today'
const SNAPSHOT_FROM: readonly SnapshotFrom[] = ['vendor', 'last-modified', 'file-name', 'file-mtime', 'today']

/** The latest date accepted: tomorrow (UTC), for clocks a little apart. @internal */
export const latestDate = (now: Date = new Date()): string =>
  new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10)

/** Check a vendor's `retrieved`: real dates, none in the future, a known `snapshotFrom`. */
const checkRetrieved = (vendor: string, retrieved: PresetsFileEntry['retrieved'] | undefined): void => {
  const { snapshot, taken, snapshotFrom } = retrieved ?? {}
  if (!(snapshot === null || isDate(snapshot)) || !isDate(taken)) {
    throw new Error(`${vendor}: retrieved needs snapshot (YYYY-MM-DD or null) and taken (YYYY-MM-DD)`)
  }
  const future = [snapshot, taken].find(d => d !== null && d > latestDate())
  if (future !== undefined) {
    throw new Error(`${vendor}: retrieved has a date in the future (${future}): a list cannot be fresher than today`)
  }
  if (snapshotFrom !== undefined && !SNAPSHOT_FROM.includes(snapshotFrom)) {
    throw new Error(`${vendor}: retrieved.snapshotFrom must be one of ${SNAPSHOT_FROM.map(f => show(f)).join(', ')}`)
  }
}

/**
 * Check a parsed presets file; throws an Error saying what is wrong.
 * `allowGrowth` lifts the bound on growth past the bundled lists. @internal
 */
export const checkPresetsFile = (file: unknown, allowGrowth = false): Map<string, PresetData> => {
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
    checkRetrieved(vendor, data.retrieved)
    const ranges = checkRanges(vendor, data.ranges)
    if (!allowGrowth) checkGrowth(vendor, ranges, presetData(vendor).ranges, 'the option allowPresetGrowth: true')
    out.set(vendor, { ...data, ranges })
  }
  return out
}

/** Permission bits that let other users replace a file's content. */
const OTHERS_WRITE = 0o022
const STICKY = 0o1000

/**
 * Warn when other users can write the presets file, or replace it in its
 * folder (writable by others and not sticky, unlike /tmp): they could then
 * choose the ranges the app trusts. Windows has no such mode bits. @internal
 */
export const checkWritable = (name: string, path: string, warn: Warn = emitWarning): void => {
  /* c8 ignore next: no Unix permission bits on Windows */
  if (process.platform === 'win32') return
  const file = statSync(path).mode
  const folder = statSync(dirname(path)).mode
  const who =
    (file & OTHERS_WRITE) !== 0
      ? `${name} ${show(path)} can be written by other users (mode ${(file & 0o777).toString(8)})`
      : (folder & OTHERS_WRITE) !== 0 && (folder & STICKY) === 0
        ? `the folder ${show(dirname(path))} of ${name} can be written by other users (mode ${(folder & 0o777).toString(8)}), who can replace the file`
        : undefined
  if (who === undefined) return
  warn(
    'PROXY_AWARE_PRESETS_WRITABLE',
    `proxy-aware: ${who}: they can choose which addresses the app trusts as vendor proxies. Make it writable by its owner only (chmod go-w).`,
    { option: name },
  )
}

/**
 * Load the presets file named by `presetsFile`, else by the environment
 * variable; undefined when neither is set. Throws ProxyAwareConfigError
 * naming the option or the variable. @internal
 */
export const loadPresetsFile = (
  option: unknown,
  env: NodeJS.ProcessEnv = process.env,
  allowGrowth = false,
  warn: Warn = emitWarning,
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
  let presets: Map<string, PresetData>
  try {
    presets = checkPresetsFile(JSON.parse(text), allowGrowth)
  } catch (error) {
    throw new ProxyAwareConfigError(
      name,
      `names ${show(path)}, which is not valid: ${error instanceof SyntaxError ? `not JSON (${error.message})` : (error as Error).message}. Write it with npx proxy-aware refresh-presets`,
    )
  }
  checkWritable(name, path, warn)
  return presets
}

/**
 * What every reader of vendor ranges compiles from: the options (platform,
 * forwarding rule) with a presets file's data when one is named, so that
 * `trust`, `clientIpHeader`, `azureFrontDoorId` and `explain` agree. @internal
 */
export const presetContextOf = (
  options: PresetContext & { presetsFile?: unknown; allowPresetGrowth?: unknown },
  warn: Warn = emitWarning,
): PresetContext => {
  const presets = loadPresetsFile(
    options.presetsFile,
    process.env,
    bool('allowPresetGrowth', options.allowPresetGrowth, false),
    warn,
  )
  return presets === undefined ? options : { ...options, presets }
}
