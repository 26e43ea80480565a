/**
 * Vendor preset data for tests: the bundled lists (data/presets/), an
 * address inside a range, and presets files (`presetsFile`) written to a
 * temporary folder.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ipaddr from 'ipaddr.js'

/** The ranges a bundled data file lists. */
export const bundledRanges = (vendor: string): string[] =>
  JSON.parse(readFileSync(new URL(`../../data/presets/${vendor}.json`, import.meta.url), 'utf8')).ranges

/** An address inside `cidr`: its network address plus one. */
export const inside = (cidr: string): string => {
  const [addr] = ipaddr.parseCIDR(cidr)
  const bytes = addr.toByteArray()
  bytes[bytes.length - 1]! += 1
  return ipaddr.fromByteArray(bytes).toString()
}

/** Today as a data file dates a list (`YYYY-MM-DD`). */
export const today = new Date().toISOString().slice(0, 10)

/** One vendor's entry of a presets file, dated today unless `over` says otherwise. */
export const presetEntry = (vendor: string, over: Record<string, unknown> = {}) => ({
  vendor,
  name: vendor,
  status: 'ok',
  source: ['https://example.com/ranges'],
  retrieved: { snapshot: today, taken: today },
  method: 'test',
  ranges: [] as string[],
  ...over,
})

/** A presets file's content: its vendors' entries. */
export const presetsDocument = (presets: Record<string, unknown>) => ({
  schemaVersion: 1,
  generated: new Date().toISOString(),
  presets,
})

let folder: string | undefined
let n = 0
/** Write `content` (JSON unless a string) to a fresh file; returns its path. */
export const writeTempFile = (content: unknown): string => {
  folder ??= mkdtempSync(join(tmpdir(), 'proxy-aware-presets-'))
  const path = join(folder, `p${n++}.json`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}
