// A presets file (presetsFile option, PROXY_AWARE_PRESETS environment
// variable) replaces the bundled vendor ranges; a bad one stops the app at
// startup with the option or variable and the problem in the message.
import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTrustProxy } from '../src/index.js'
import { checkRanges } from '../src/vendors/preset-file.js'
import { presetEntry, presetsDocument, today, writeTempFile } from './support/presets.js'

const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-presets-file-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = writeTempFile
const entry = (over: Record<string, unknown> = {}) =>
  presetEntry('cloudflare', {
    name: 'Cloudflare',
    source: ['https://www.cloudflare.com/ips-v4'],
    ranges: ['45.60.0.0/16'],
    ...over,
  })
const presets = presetsDocument

const viaCloudflare = (options: Parameters<typeof createTrustProxy>[0], peer: string) =>
  createTrustProxy(options).resolve({ headers: { 'x-forwarded-for': '198.51.100.7' }, socket: { remoteAddress: peer } })
    .ip

t.test("the file's ranges replace the bundled ones; other vendors keep theirs", async t => {
  const path = file(presets({ cloudflare: entry() }))
  t.equal(viaCloudflare({ trust: ['cloudflare'], presetsFile: path }, '45.60.1.2'), '198.51.100.7')
  t.equal(viaCloudflare({ trust: ['cloudflare'], presetsFile: path }, '173.245.48.1'), '173.245.48.1', 'old range gone')
  t.equal(viaCloudflare({ trust: ['cloudflare'] }, '173.245.48.1'), '198.51.100.7', 'bundled without the file')
  t.equal(
    viaCloudflare({ trust: ['cloudfront'], presetsFile: path, maxPresetAge: 0 }, '130.176.88.1'),
    '198.51.100.7',
    'bundled for a vendor the file lacks',
  )
})

t.test('PROXY_AWARE_PRESETS names the file when the option does not', async t => {
  const fromEnv = file(presets({ cloudflare: entry() }))
  const fromOption = file(presets({ cloudflare: entry({ ranges: ['46.60.0.0/16'] }) }))
  process.env.PROXY_AWARE_PRESETS = fromEnv
  t.teardown(() => {
    delete process.env.PROXY_AWARE_PRESETS
  })
  t.equal(viaCloudflare({ trust: ['cloudflare'] }, '45.60.1.2'), '198.51.100.7')
  t.equal(viaCloudflare({ trust: ['cloudflare'], presetsFile: fromOption }, '46.60.1.2'), '198.51.100.7')
  t.equal(
    viaCloudflare({ trust: ['cloudflare'], presetsFile: fromOption }, '45.60.1.2'),
    '45.60.1.2',
    'the option wins',
  )
  process.env.PROXY_AWARE_PRESETS = file('not json')
  t.throws(() => createTrustProxy({ trust: ['loopback'] }), {
    name: 'ProxyAwareConfigError',
    option: 'PROXY_AWARE_PRESETS',
    message: /option "PROXY_AWARE_PRESETS" names ".*", which is not valid: not JSON/,
  })
  process.env.PROXY_AWARE_PRESETS = ''
  t.doesNotThrow(() => createTrustProxy({ trust: ['loopback'] }), 'empty is unset')
})

t.test('a bad presets file is refused at startup, naming the problem', async t => {
  const cases: [string, unknown, RegExp][] = [
    ['not JSON', '<html>', /not JSON/],
    ['another schema', { schemaVersion: 2, presets: {} }, /not a proxy-aware presets file \(schemaVersion 1\)/],
    ['null', null, /not a proxy-aware presets file/],
    ['no presets', presets({}), /it has no presets/],
    ['presets not an object', { schemaVersion: 1, presets: 'x' }, /it has no presets/],
    ['unknown vendor', presets({ akamai: entry({ vendor: 'akamai' }) }), /unknown vendor "akamai" \(known: cloudflare/],
    ['vendor mismatch', presets({ cloudflare: entry({ vendor: 'fastly' }) }), /cloudflare: needs vendor "cloudflare"/],
    ['not ok', presets({ cloudflare: entry({ status: 'unavailable' }) }), /status "ok"/],
    ['no name', presets({ cloudflare: entry({ name: 1 }) }), /a name/],
    ['null entry', presets({ cloudflare: null }), /needs vendor/],
    [
      'bad date',
      presets({ cloudflare: entry({ retrieved: { snapshot: '2026-02-30', taken: today } }) }),
      /retrieved needs/,
    ],
    ['no taken', presets({ cloudflare: entry({ retrieved: { snapshot: null } }) }), /retrieved needs/],
    ['no retrieved', presets({ cloudflare: entry({ retrieved: undefined }) }), /retrieved needs/],
    ['ranges not an array', presets({ cloudflare: entry({ ranges: '45.60.0.0/16' }) }), /ranges must be an array/],
    ['empty ranges', presets({ cloudflare: entry({ ranges: [] }) }), /0 ranges, outside 1-5000/],
    [
      'a private range',
      presets({ cloudflare: entry({ ranges: ['10.0.0.0/8'] }) }),
      /not all public unicast address space: it overlaps 10\.0\.0\.0\/8, private use/,
    ],
    ['a number', presets({ cloudflare: entry({ ranges: [1] }) }), /1 is not a CIDR range/],
    ['a bare address', presets({ cloudflare: entry({ ranges: ['45.60.0.1'] }) }), /"45\.60\.0\.1" is not a CIDR range/],
    ['IPv6 too wide', presets({ cloudflare: entry({ ranges: ['2a00::/15'] }) }), /wider than \/16/],
  ]
  for (const [name, content, why] of cases) {
    t.throws(
      () => createTrustProxy({ trust: ['loopback'], presetsFile: file(content) }),
      { name: 'ProxyAwareConfigError', option: 'presetsFile', message: why },
      name,
    )
  }
  t.throws(() => createTrustProxy({ trust: ['loopback'], presetsFile: join(dir, 'missing.json') }), {
    option: 'presetsFile',
    message: /names ".*missing\.json", which cannot be read: ENOENT/,
  })
  for (const value of ['', 1, ['a.json']]) {
    t.throws(
      () => createTrustProxy({ trust: ['loopback'], presetsFile: value as string }),
      { option: 'presetsFile', message: /must be the path of a presets file/ },
      JSON.stringify(value),
    )
  }
})

t.test('checkRanges: canonical output, duplicates dropped; every bundled list passes', async t => {
  t.same(checkRanges('x', ['2A06:98C0:0:0::/29', '2a06:98c0::/29', '45.60.0.0/16']), ['2a06:98c0::/29', '45.60.0.0/16'])
  const data = new URL('../data/presets/', import.meta.url)
  for (const name of readdirSync(data).filter(f => f.endsWith('.json'))) {
    const { status, ranges, vendor } = JSON.parse(readFileSync(new URL(name, data), 'utf8'))
    if (status === 'ok') t.same(checkRanges(vendor, ranges), ranges, vendor)
  }
})
