/**
 * Vendor preset data for tests: the bundled lists (data/presets/), an
 * address inside a range, and presets files (`presetsFile`) written to a
 * temporary folder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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
  if (folder === undefined) {
    const made = mkdtempSync(join(tmpdir(), 'proxy-aware-presets-'))
    process.on('exit', () => rmSync(made, { recursive: true, force: true }))
    folder = made
  }
  const path = join(folder, `p${n++}.json`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

/**
 * A hostile mirror's list (issue 20): every fully public IPv4 /8 and pieces
 * of the others, 228 ranges covering 85% of the IPv4 space (the issue saw 86%).
 */
export const hugeList = (): string[] => {
  const notPublic = new Set([0, 10, 100, 127, 169, 172, 192, 198, 203])
  const eights = Array.from({ length: 224 }, (_, i) => i)
    .filter(i => !notPublic.has(i))
    .map(i => `${i}.0.0.0/8`)
  const pieces = ['100.0.0.0/10', '100.128.0.0/9', '169.0.0.0/9', '169.128.0.0/10', '172.0.0.0/12', '172.32.0.0/11']
  const more = ['172.64.0.0/10', '172.128.0.0/9', '198.0.0.0/12', '198.128.0.0/9', '203.128.0.0/9', '192.0.4.0/22']
  return [...eights, ...pieces, ...more, '203.64.0.0/10']
}
