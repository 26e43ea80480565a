// The vendor range files in data/presets (schema in data/presets/README.md):
// every file has its provenance fields, and every range is a canonical CIDR
// that ipaddr.js parses, with a real prefix (no /0), no duplicates.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import ipaddr from 'ipaddr.js'

const dir = new URL('../data/presets/', import.meta.url)

// vendor -> expected status; a vendor silently losing its ranges fails here
const expected: Record<string, string> = {
  'cloudflare': 'ok',
  'cloudfront': 'ok',
  'fastly': 'ok',
  'gcp-lb': 'ok',
  'azure-front-door': 'ok',
  'fly': 'no-published-ranges',
  'heroku': 'no-published-ranges',
  'vercel': 'no-published-ranges',
  'aws-elb': 'no-published-ranges',
}
const STATUSES = ['ok', 'no-published-ranges', 'unavailable']
const DATE = /^\d{4}-\d{2}-\d{2}$/

/** Why `cidr` is not an acceptable range, or undefined when it is. */
const rangeProblem = (cidr: unknown): string | undefined => {
  if (typeof cidr !== 'string') return 'not a string'
  if (!ipaddr.isValidCIDR(cidr)) return 'not a CIDR'
  const [addr, prefix] = ipaddr.parseCIDR(cidr)
  // strict dotted quad: no octal, hex or shortened IPv4 forms
  if (addr.kind() === 'ipv4' && !ipaddr.IPv4.isValidCIDRFourPartDecimal(cidr)) return 'not four-part decimal'
  if (prefix === 0) return 'a /0 trusts everything'
  const network =
    addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr)
  // host bits set, upper case, zero padding or uncompressed IPv6 all differ from this
  if (`${network.toString()}/${prefix}` !== cidr) return `not canonical (${network.toString()}/${prefix})`
  return undefined
}

t.test('the range check rejects what it must', async t => {
  for (const good of [
    '173.245.48.0/20',
    '2400:cb00::/32',
    '2600:2d00:1:b029::/64',
    '20.165.78.75/32',
    '2603:1000:4::600/123',
  ]) {
    t.equal(rangeProblem(good), undefined, good)
  }
  const bad: [unknown, RegExp][] = [
    [42, /not a string/],
    ['173.245.48.0', /not a CIDR/],
    ['1.2.3.4/33', /not a CIDR/],
    ['2001:db8::/129', /not a CIDR/],
    ['0.0.0.0/0', /\/0/],
    ['::/0', /\/0/],
    ['010.0.0.0/8', /four-part/],
    ['10.0.0.1/8', /not canonical \(10\.0\.0\.0\/8\)/],
    ['2001:DB8::/32', /not canonical/],
    ['2001:db8:0:0::/64', /not canonical \(2001:db8::\/64\)/],
    ['::ffff:10.0.0.0/104', /not canonical/],
  ]
  for (const [cidr, re] of bad) t.match(rangeProblem(cidr), re, String(cidr))
})

const files = readdirSync(dir)
  .filter(f => f.endsWith('.json'))
  .sort()

t.test('one file per expected vendor', async t => {
  t.same(
    files,
    Object.keys(expected)
      .map(v => `${v}.json`)
      .sort(),
  )
})

for (const file of files) {
  t.test(file, async t => {
    const d = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Record<string, any>
    t.equal(d.schemaVersion, 1, 'schemaVersion')
    t.equal(d.vendor, file.slice(0, -'.json'.length), 'vendor matches the file name')
    t.equal(d.status, expected[d.vendor], 'status')
    t.ok(STATUSES.includes(d.status), 'known status')
    t.ok(typeof d.name === 'string' && d.name.length > 0, 'name')
    t.ok(Array.isArray(d.source) && d.source.length > 0, 'source lists the official URLs')
    for (const url of d.source ?? []) t.match(url, /^https:\/\/[^\s]+$/, `source ${url}`)
    t.ok(typeof d.method === 'string' && d.method.length > 0, 'method')
    t.ok(Array.isArray(d.notes) && d.notes.every((n: unknown) => typeof n === 'string'), 'notes')
    t.match(d.retrieved?.taken, DATE, 'retrieved.taken')
    if (d.retrieved?.snapshot === null) t.type(d.retrieved.snapshotNote, 'string', 'an undated source says so')
    else t.match(d.retrieved?.snapshot, DATE, 'retrieved.snapshot')
    if (d.mirror !== null) {
      t.match(d.mirror?.repository, /^https:\/\/github\.com\/[\w.-]+\/[\w.-]+$/, 'mirror.repository')
      t.ok(Array.isArray(d.mirror?.paths) && d.mirror.paths.length > 0, 'mirror.paths')
      t.match(d.mirror?.commit, /^[0-9a-f]{40}$/, 'mirror.commit')
      t.match(d.mirror?.commitDate, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, 'mirror.commitDate')
      t.equal(d.mirror?.commitDate.slice(0, 10), d.retrieved.snapshot, 'the snapshot date is the commit date')
    }
    t.ok(Array.isArray(d.ranges), 'ranges is an array')
    if (d.status === 'ok') {
      t.ok(d.ranges.length > 0, 'at least one range')
      t.equal(d.reason, undefined, 'no reason on an ok file')
    } else {
      t.same(d.ranges, [], 'no ranges')
      t.ok(typeof d.reason === 'string' && d.reason.length > 0, 'reason')
    }
    if (d.platform !== undefined) {
      t.ok(Array.isArray(d.platform.env) && d.platform.env.length > 0, 'platform.env')
      t.match(d.platform.envSource, /^https:\/\//, 'platform.envSource')
      t.match(d.platform.headersSource, /^https:\/\//, 'platform.headersSource')
    }
    const seen = new Set<string>()
    for (const cidr of d.ranges) {
      t.equal(rangeProblem(cidr), undefined, cidr)
      t.notOk(seen.has(cidr), `${cidr} is listed once`)
      seen.add(cidr)
    }
  })
}

// Platform presets must be able to say which platform they need confirmed
t.test('platforms without ranges name their environment', async t => {
  for (const v of ['fly', 'heroku', 'vercel']) {
    const d = JSON.parse(readFileSync(new URL(`${v}.json`, dir), 'utf8'))
    t.ok(d.platform?.env?.length > 0, v)
  }
})
