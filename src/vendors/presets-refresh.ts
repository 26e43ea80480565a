/**
 * Refreshing the vendor ranges without waiting for a release: fetch each
 * vendor's current published list, check every range, and build ONE
 * presets file the app loads with `presetsFile` / `PROXY_AWARE_PRESETS`.
 * Used by `proxy-aware refresh-presets` (src/cli/refresh.ts).
 *
 * Sources, looked up 2026-11-29 (the bundled data/presets/<vendor>.json
 * files name the same ones):
 * - Cloudflare: https://www.cloudflare.com/ips-v4 and /ips-v6, one CIDR per
 *   line (data/presets/cloudflare.json `source`; the lord-alfred/ipranges
 *   mirror fetches them the same way, cloudflare/downloader.sh).
 * - CloudFront: https://ip-ranges.amazonaws.com/ip-ranges.json, layout
 *   `{ syncToken, createDate: "yyyy-mm-dd-hh-mm-ss", prefixes: [{ ip_prefix,
 *   service, ... }], ipv6_prefixes: [{ ipv6_prefix, service, ... }] }`
 *   (docs.aws.amazon.com/vpc/latest/userguide/aws-ip-syntax.html), service
 *   CLOUDFRONT_ORIGIN_FACING (see data/presets/README.md).
 * - Fastly: https://api.fastly.com/public-ip-list, `{ addresses: [...],
 *   ipv6_addresses: [...] }` (the PublicIpList model of Fastly's API
 *   clients: fastly-api on docs.rs, fastly/fastly-php PublicIpListApi.md).
 * - Azure Front Door: no stable URL. The weekly file's download link
 *   changes with every publication and Microsoft offers no anonymous API
 *   (learn.microsoft.com/en-us/answers/questions/105874; the Service Tag
 *   Discovery API needs an Azure login): give the downloaded
 *   ServiceTags_Public_<date>.json from
 *   https://www.microsoft.com/en-us/download/details.aspx?id=56519; the tag
 *   AzureFrontDoor.Backend is read from `values[].properties.addressPrefixes`.
 * - GCP load balancers: the ranges are in documentation text only
 *   (cloud.google.com/load-balancing/docs/firewall-rules); Google's
 *   machine-readable cloud.json lists every customer's addresses, not the
 *   front ends. Give a text file, one CIDR per line.
 */
import { readFileSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import { show } from '../core/errors.js'
import {
  checkGrowth,
  checkRanges,
  latestDate,
  type PresetsFile,
  type PresetsFileEntry as Entry,
  type SnapshotFrom,
} from './preset-file.js'
import { type PresetData, presetData, VENDOR_PRESETS } from './presets.js'

/** Options of `refreshPresets`. @public */
export interface RefreshPresetsOptions {
  /** vendors to refresh; default: every vendor with a URL, plus those given a file */
  vendors?: readonly string[]
  /** local copies for the vendors without a stable URL */
  files?: { 'gcp-lb'?: string; 'azure-front-door'?: string }
  /**
   * fetch from `<baseUrl>/<vendor host><path>` instead of the vendor (a
   * mirror, or a test server)
   */
  baseUrl?: string
  /** accept a list with fewer than half the ranges of the previous one */
  allowShrink?: boolean
  /**
   * accept a list more than twice the previous one, in ranges or in IPv4 or
   * IPv6 addresses covered (the app then needs `allowPresetGrowth: true` too)
   */
  allowGrowth?: boolean
  /** the data to compare with; default the package's own */
  previous?: (vendor: string) => PresetData | undefined
  /** milliseconds per request @default 30000 */
  timeout?: number
  /** @internal tests */
  now?: Date
}

/** What `refreshPresets` built, and what it left out. @public */
export interface RefreshResult {
  file: PresetsFile
  /** vendors left out, with why */
  skipped: Record<string, string>
}

/** A vendor's list, as one source gives it. */
interface Fetched {
  ranges: unknown
  snapshot: string
  snapshotFrom: SnapshotFrom
  sourceVersion?: Record<string, unknown>
}

/** A response body, and its Last-Modified day when it has a valid one. */
interface Body {
  text: string
  lastModified: string | undefined
}

/** The date of lists read over HTTP: the latest Last-Modified when every response has one, else today. */
const dated = (bodies: readonly Body[], today: string): Pick<Fetched, 'snapshot' | 'snapshotFrom'> => {
  const days = bodies.map(b => b.lastModified)
  return days.every(d => d !== undefined)
    ? { snapshot: days.sort().at(-1)!, snapshotFrom: 'last-modified' }
    : { snapshot: today, snapshotFrom: 'today' }
}

interface Source {
  name: string
  urls: readonly string[]
  selector?: string
  method: string
  read(bodies: Body[], today: string): Fetched
}

const json = (url: string, body: string): Record<string, unknown> => {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    throw new Error(`${url} did not return JSON (starts ${show(body.slice(0, 40))})`)
  }
  if (value === null || typeof value !== 'object') throw new Error(`${url} returned ${show(value)}, not an object`)
  return value as Record<string, unknown>
}

/** One CIDR per line; blank lines and `#` comments skipped. */
const lines = (body: string): string[] =>
  body
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('#'))

const arrayOf = (url: string, value: unknown, field: string): unknown[] => {
  if (!Array.isArray(value)) throw new Error(`${url}: ${field} is not an array`)
  return value
}

const CLOUDFRONT_URL = 'https://ip-ranges.amazonaws.com/ip-ranges.json'
const FASTLY_URL = 'https://api.fastly.com/public-ip-list'

/** Vendors with a stable machine-readable URL. */
const SOURCES: Record<string, Source> = {
  cloudflare: {
    name: 'Cloudflare',
    urls: ['https://www.cloudflare.com/ips-v4', 'https://www.cloudflare.com/ips-v6'],
    method: 'proxy-aware refresh-presets: fetched both lists, one CIDR per line, and checked every line.',
    read: (bodies, today) => ({
      ranges: bodies.flatMap(b => lines(b.text)),
      ...dated(bodies, today),
    }),
  },
  cloudfront: {
    name: 'Amazon CloudFront (origin-facing servers)',
    urls: [CLOUDFRONT_URL],
    selector: 'service == "CLOUDFRONT_ORIGIN_FACING" (prefixes[].ip_prefix and ipv6_prefixes[].ipv6_prefix)',
    method: 'proxy-aware refresh-presets: fetched ip-ranges.json and filtered it with the selector.',
    read: ([body]) => {
      const doc = json(CLOUDFRONT_URL, body!.text)
      const pick = (field: string, key: string) =>
        arrayOf(CLOUDFRONT_URL, doc[field], field)
          .filter(p => (p as { service?: unknown } | null)?.service === 'CLOUDFRONT_ORIGIN_FACING')
          .map(p => (p as Record<string, unknown>)[key])
      const created = typeof doc.createDate === 'string' ? /^(\d{4}-\d{2}-\d{2})-/.exec(doc.createDate) : null
      if (created === null) throw new Error(`${CLOUDFRONT_URL}: createDate is missing or not yyyy-mm-dd-hh-mm-ss`)
      return {
        ranges: [...pick('prefixes', 'ip_prefix'), ...pick('ipv6_prefixes', 'ipv6_prefix')],
        snapshot: created[1]!,
        snapshotFrom: 'vendor',
        sourceVersion: { syncToken: doc.syncToken, createDate: doc.createDate },
      }
    },
  },
  fastly: {
    name: 'Fastly',
    urls: [FASTLY_URL],
    method: 'proxy-aware refresh-presets: fetched public-ip-list (addresses, ipv6_addresses).',
    read: (bodies, today) => {
      const doc = json(FASTLY_URL, bodies[0]!.text)
      const v6 = doc.ipv6_addresses === undefined ? [] : arrayOf(FASTLY_URL, doc.ipv6_addresses, 'ipv6_addresses')
      return { ranges: [...arrayOf(FASTLY_URL, doc.addresses, 'addresses'), ...v6], ...dated(bodies, today) }
    },
  },
}

/** `YYYY-MM-DD` of a file: from a name such as ServiceTags_Public_20261123.json, else its mtime. */
const fileDate = (path: string): Pick<Fetched, 'snapshot' | 'snapshotFrom'> => {
  const m = /_(\d{4})(\d{2})(\d{2})\.json$/.exec(basename(path))
  return m
    ? { snapshot: `${m[1]}-${m[2]}-${m[3]}`, snapshotFrom: 'file-name' }
    : { snapshot: statSync(path).mtime.toISOString().slice(0, 10), snapshotFrom: 'file-mtime' }
}

/** How refresh-presets names where a date came from. @internal */
export const SNAPSHOT_FROM_TEXT: Readonly<Record<SnapshotFrom, string>> = {
  'vendor': "from the vendor's own date field",
  'last-modified': 'from the Last-Modified header',
  'file-name': "from the file's name",
  'file-mtime': "from the file's modification time",
  'today': 'undated: the day of the refresh',
}

/** Vendors read from a local file. */
type VendorList = Omit<Entry, 'vendor' | 'status' | 'retrieved' | 'ranges'> & Fetched
const FILE_SOURCES: Record<string, (path: string) => VendorList> = {
  'azure-front-door': path => {
    const doc = json(path, readFileSync(path, 'utf8'))
    const tag = arrayOf(path, doc.values, 'values').find(
      v => (v as { name?: unknown } | null)?.name === 'AzureFrontDoor.Backend',
    ) as { properties?: { addressPrefixes?: unknown; changeNumber?: unknown } } | undefined
    if (tag === undefined) throw new Error(`${path}: no AzureFrontDoor.Backend service tag`)
    return {
      name: 'Azure Front Door (service tag AzureFrontDoor.Backend)',
      source: ['https://www.microsoft.com/en-us/download/details.aspx?id=56519'],
      selector: 'values[name == "AzureFrontDoor.Backend"].properties.addressPrefixes',
      method: `proxy-aware refresh-presets: read from ${basename(path)} with the selector.`,
      ranges: tag.properties?.addressPrefixes,
      ...fileDate(path),
      sourceVersion: { changeNumber: doc.changeNumber, tagChangeNumber: tag.properties?.changeNumber },
    }
  },
  'gcp-lb': path => ({
    name: 'Google Cloud global external / classic Application Load Balancer (Google Front Ends)',
    source: ['https://cloud.google.com/load-balancing/docs/firewall-rules'],
    method: `proxy-aware refresh-presets: read from ${basename(path)}, one CIDR per line, copied from the docs page.`,
    ranges: lines(readFileSync(path, 'utf8')),
    ...fileDate(path),
  }),
}

/** Why a vendor has no URL, for the report. */
const NO_URL: Record<string, string> = {
  'azure-front-door':
    'Microsoft publishes the service tags at a download URL that changes weekly: download ServiceTags_Public_<date>.json from https://www.microsoft.com/en-us/download/details.aspx?id=56519 and pass it as the azure-front-door file',
  'gcp-lb':
    'Google publishes these ranges in documentation only (https://cloud.google.com/load-balancing/docs/firewall-rules): copy them into a text file, one CIDR per line, and pass it as the gcp-lb file',
}

/** Why a fetch failed: its message, and its cause's code and message (undici wraps the network error). */
const fetchFailure = (error: unknown, timeout: number): string => {
  const e = error as Error & { cause?: { code?: string; message?: string } }
  if (e.name === 'TimeoutError') return `no answer within ${timeout} ms`
  // Object(undefined) is {}: an error without a cause gives its message alone
  const { code, message } = Object(e.cause) as { code?: string; message?: string }
  return [e.message, code, message].filter(Boolean).join(': ')
}

/** GET `url` as text, refusing anything but a 2xx. */
const get = async (url: string, timeout: number): Promise<Body> => {
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeout), redirect: 'follow' })
  } catch (error) {
    // fetch says only "fetch failed": the cause (ECONNREFUSED, ENOTFOUND,
    // a certificate error, the timeout) is what the operator can act on
    throw new Error(`${url}: ${fetchFailure(error, timeout)}`)
  }
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`)
  const modified = new Date(res.headers.get('last-modified') ?? '')
  const lastModified = Number.isNaN(modified.getTime()) ? undefined : modified.toISOString().slice(0, 10)
  return { text: await res.text(), lastModified }
}

/**
 * Fetch and check the vendors' current lists. Throws, writing nothing, when
 * any requested vendor fails (HTTP error, malformed body, a bad range, a
 * list that shrank to less than half the previous one). @public
 */
export async function refreshPresets(options: RefreshPresetsOptions = {}): Promise<RefreshResult> {
  const { files = {}, baseUrl, allowShrink = false, allowGrowth = false, timeout = 30_000 } = options
  const previous = options.previous ?? presetData
  const now = options.now ?? new Date()
  const today = now.toISOString().slice(0, 10)
  const wanted = options.vendors ?? VENDOR_PRESETS
  const presets: Record<string, Entry> = {}
  const skipped: Record<string, string> = {}
  const errors: string[] = []
  const via = (url: string) => {
    if (baseUrl === undefined) return url
    const u = new URL(url)
    return `${baseUrl.replace(/\/$/, '')}/${u.host}${u.pathname}`
  }
  await Promise.all(
    wanted.map(async vendor => {
      try {
        if (!(VENDOR_PRESETS as readonly string[]).includes(vendor)) {
          throw new Error(`not a vendor preset with ranges (known: ${VENDOR_PRESETS.join(', ')})`)
        }
        const file = (files as Record<string, string | undefined>)[vendor]
        const source = SOURCES[vendor]
        let entry: VendorList
        if (file !== undefined) entry = FILE_SOURCES[vendor]!(file)
        else if (source === undefined) {
          skipped[vendor] = NO_URL[vendor]!
          return
        } else {
          const bodies = await Promise.all(source.urls.map(u => get(via(u), timeout)))
          const { name, urls, selector, method, read } = source
          entry = { name, source: urls, ...(selector && { selector }), method, ...read(bodies, today) }
        }
        const { snapshot, snapshotFrom, sourceVersion, ...rest } = entry
        if (snapshot > latestDate(now)) {
          throw new Error(`the list is dated ${snapshot}, in the future (${SNAPSHOT_FROM_TEXT[snapshotFrom]})`)
        }
        const ranges = checkRanges(vendor, entry.ranges)
        const before = previous(vendor)?.ranges
        if (!allowShrink && ranges.length * 2 < (before?.length ?? 0)) {
          throw new Error(
            `has ${ranges.length} ranges where the previous list had ${before!.length}: refused as suspicious (allow it with allowShrink / --allow-shrink once you have checked the vendor's list)`,
          )
        }
        if (!allowGrowth) checkGrowth(vendor, ranges, before, 'allowGrowth / --allow-growth')
        presets[vendor] = {
          ...rest,
          vendor,
          status: 'ok',
          retrieved: { snapshot, taken: today, snapshotFrom },
          ...(sourceVersion && { sourceVersion }),
          ranges,
        }
      } catch (error) {
        const message = (error as Error).message
        errors.push(message.startsWith(`${vendor}: `) ? message : `${vendor}: ${message}`)
      }
    }),
  )
  if (errors.length > 0) throw new Error(`proxy-aware refresh-presets: ${errors.sort().join('; ')}`)
  if (Object.keys(presets).length === 0) throw new Error('proxy-aware refresh-presets: no vendor list to write')
  return { file: { schemaVersion: 1, generated: now.toISOString(), presets }, skipped }
}
