// Attacks on a presets file (presetsFile / PROXY_AWARE_PRESETS), each
// refused at startup naming presetsFile: ranges that are partly private or
// reserved, zero-padded text, a range `trust` itself refuses, a list grown
// to most of the IPv4 space, dates in the future, and a file others can
// write. ipaddr.js's range() is the oracle for single addresses.
import t, { type Test } from 'tap'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import ipaddr from 'ipaddr.js'
import { PassThrough } from 'node:stream'
import { checkCommand } from '../src/cli/check.js'
import type { Io } from '../src/cli/command.js'
import { createTrustProxy } from '../src/index.js'
import { trustProxy } from '../src/express.js'
import { checkRanges } from '../src/vendors/preset-file.js'
import { coverage } from '../src/vendors/ranges.js'
import { bundledRanges, hugeList, presetEntry, presetsDocument, today, writeTempFile } from './support/presets.js'

const cloudflare = (over: Record<string, unknown>) =>
  presetsDocument({ cloudflare: presetEntry('cloudflare', { ranges: ['45.60.0.0/16'], ...over }) })
const load = (path: string, extra: Record<string, unknown> = {}) =>
  createTrustProxy({ trust: ['cloudflare'], presetsFile: path, maxPresetAge: 0, ...extra })
const refusedAtLoad = (t: Test, ranges: string[], why: RegExp, name = ranges.join(' ')) =>
  t.throws(
    () => load(writeTempFile(cloudflare({ ranges }))),
    { name: 'ProxyAwareConfigError', option: 'presetsFile', message: why },
    name,
  )

t.test('a range is public only if no part of it is private or reserved (issue 20, item 2)', async t => {
  for (const [range, block] of [
    ['172.0.0.0/8', /172\.16\.0\.0\/12, private use/],
    ['192.128.0.0/9', /192\.168\.0\.0\/16, private use/],
    ['100.0.0.0/8', /100\.64\.0\.0\/10, shared address space/],
    ['169.0.0.0/8', /169\.254\.0\.0\/16, link local/],
    ['64::/16', /outside 2000::\/3/],
    ['2001::/16', /2001::\/23, IETF protocol assignments/],
    ['2620:4f::/32', /2620:4f:8000::\/48, AS112/],
    ['224.0.0.0/8', /224\.0\.0\.0\/4, multicast/],
  ] as const) {
    refusedAtLoad(t, [range], new RegExp(`not all public unicast address space: it overlaps ${block.source}`))
    t.throws(() => checkRanges('fastly', [range]), { message: block }, `refresh's check too: ${range}`)
  }
})

t.test("ipaddr.js's range() is the oracle for single addresses", async t => {
  // addresses in and around every block ipaddr.js knows, and random ones
  type Block = [ipaddr.IPv4 | ipaddr.IPv6, number]
  const special = (proto: object) =>
    Object.values((proto as { SpecialRanges: Record<string, Block | Block[]> }).SpecialRanges)
  const bases = [...special(ipaddr.IPv4.prototype), ...special(ipaddr.IPv6.prototype)].flatMap(r =>
    Array.isArray(r[0]) ? (r as Block[]) : [r as Block],
  )
  const address = fc
    .tuple(fc.constantFrom(...bases), fc.nat(), fc.uint8Array({ minLength: 16, maxLength: 16 }))
    .map(([[base, bits], shift, noise]) => {
      const bytes = base.toByteArray()
      // keep the block's first bits, give some of the rest noise, on both sides of the boundary
      const keep = Math.max(0, bits - 2 + (shift % 6)) >> 3
      for (let i = keep; i < bytes.length; i++) bytes[i] = noise[i]!
      return ipaddr.fromByteArray(bytes)
    })
  const v6global = ipaddr.parseCIDR('2000::/3')
  fc.assert(
    fc.property(address, ip => {
      const single = `${ip.kind() === 'ipv4' ? ip.toString() : (ip as ipaddr.IPv6).toRFC5952String()}/${ip.kind() === 'ipv4' ? 32 : 128}`
      const publicByOracle = ip.range() === 'unicast' && (ip.kind() === 'ipv4' || ip.match(v6global))
      let accepted = true
      try {
        checkRanges('x', [single])
      } catch {
        accepted = false
      }
      return accepted === publicByOracle
    }),
    { numRuns: 3000 },
  )
  t.pass('checkRanges agrees with ipaddr.js on 3000 addresses')
})

t.test('zero-padded IPv4 text is refused, not read as octal (item 3)', async t => {
  refusedAtLoad(t, ['198.041.128.000/17'], /"198\.041\.128\.000\/17".*four decimal parts without leading zeros/)
  refusedAtLoad(t, ['45.60.0.0/255.255.0.0'], /not canonical CIDR text \(write 45\.60\.0\.0\/16\)/)
})

t.test('the loader refuses what trust refuses, naming presetsFile (item 4)', async t => {
  refusedAtLoad(t, ['::fff0:0:0/92'], /contains the IPv4-mapped range ::ffff:0:0\/96/)
  refusedAtLoad(t, ['::ffff:45.60.0.0/112'], /not canonical CIDR text \(write 45\.60\.0\.0\/16\)/)
  // the same entry in trust names trust
  t.throws(() => createTrustProxy({ trust: ['::fff0:0:0/92'] }), { option: 'trust', message: /IPv4-mapped/ })
})

t.test('growth and coverage are bounded against the bundled list (item 1)', async t => {
  const huge = hugeList()
  const { ipv4 } = coverage(huge)
  t.equal(huge.length, 228)
  t.ok(Number(ipv4) / 2 ** 32 > 0.84, `covers ${((Number(ipv4) / 2 ** 32) * 100).toFixed(1)}% of IPv4`)
  const path = writeTempFile(cloudflare({ ranges: huge }))
  t.throws(() => load(path), {
    option: 'presetsFile',
    message:
      /cloudflare: 228 ranges covering \d+ IPv4 addresses \(8\d\.\d+% of IPv4\) and 0 IPv6 \/64s, where the bundled list has 22 ranges covering .*allowPresetGrowth: true/,
  })
  // the explicit override, for a real vendor change checked by hand
  const proxy = load(path, { allowPresetGrowth: true })
  t.equal(
    proxy.resolve({ headers: { 'x-forwarded-for': '6.6.6.6' }, socket: { remoteAddress: '8.8.8.8' } }).ip,
    '6.6.6.6',
  )
  t.throws(() => load(writeTempFile(cloudflare({})), { allowPresetGrowth: 'yes' }), {
    option: 'allowPresetGrowth',
    message: /must be a boolean/,
  })
  // coverage, not only the count: one /8 more than the bundled IPv4 is growth
  const bundled = bundledRanges('cloudflare')
  refusedAtLoad(t, [...bundled.filter(r => r !== '104.16.0.0/13'), '104.0.0.0/8'], /covering/, 'same count, a /8')
  refusedAtLoad(t, [...bundled, '2a00::/16'], /IPv6 \/64s/, 'IPv6 grown')
  t.doesNotThrow(() => load(writeTempFile(cloudflare({ ranges: [...bundled, '45.60.0.0/16'] }))), 'a small addition')
  t.doesNotThrow(() => load(writeTempFile(cloudflare({ ranges: ['45.60.0.0/16'] }))), 'shrinking is not growth')
})

t.test('coverage counts each address once', async t => {
  t.same(coverage(['1.0.0.0/8', '1.2.0.0/16', '2.0.0.0/8', '2a00::/16', '2a00:1::/32', '::1/128']), {
    ipv4: 2n * 2n ** 24n,
    ipv6: 2n ** 112n + 1n,
  })
  t.same(coverage(['1.2.0.0/16', '1.0.0.0/8']), { ipv4: 2n ** 24n, ipv6: 0n })
  // two ranges with the same start: the larger counts, the one inside it not again
  t.same(coverage(['1.0.0.0/16', '1.0.0.0/8']), { ipv4: 2n ** 24n, ipv6: 0n })
  t.same(coverage(['2a00::/32', '2a00::/16']), { ipv4: 0n, ipv6: 2n ** 112n })
  t.same(coverage(['3.0.0.0/8', '1.0.0.0/8', '2.0.0.0/8', '1.1.0.0/16']), { ipv4: 3n * 2n ** 24n, ipv6: 0n })
})

t.test('dates in the future are refused (item 6)', async t => {
  const next = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10)
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)
  for (const retrieved of [
    { snapshot: next, taken: today },
    { snapshot: null, taken: next },
    { snapshot: '2099-01-01', taken: '2099-01-01' },
  ]) {
    t.throws(
      () => load(writeTempFile(cloudflare({ retrieved }))),
      { option: 'presetsFile', message: /cloudflare: retrieved has a date in the future \(20\d\d-\d\d-\d\d\)/ },
      JSON.stringify(retrieved),
    )
  }
  t.doesNotThrow(
    () => load(writeTempFile(cloudflare({ retrieved: { snapshot: today, taken: tomorrow } }))),
    'a day of clock skew',
  )
  // where the date came from is recorded, and checked
  t.doesNotThrow(() =>
    load(writeTempFile(cloudflare({ retrieved: { snapshot: today, taken: today, snapshotFrom: 'last-modified' } }))),
  )
  t.throws(
    () => load(writeTempFile(cloudflare({ retrieved: { snapshot: today, taken: today, snapshotFrom: 'guess' } }))),
    {
      message: /snapshotFrom must be one of "vendor", "last-modified", "file-name", "file-mtime", "today"/,
    },
  )
})

t.test('a presets file or folder others can write is reported (item 5)', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-perm-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'presets.json')
  writeFileSync(path, JSON.stringify(cloudflare({})))
  const warnings: Array<{ code?: string; message: string }> = []
  const onWarning = (w: Error & { code?: string }) => {
    if (w.code === 'PROXY_AWARE_PRESETS_WRITABLE') warnings.push(w)
  }
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  const settle = () => new Promise(r => setImmediate(r))
  load(path)
  await settle()
  t.same(warnings, [], 'private folder, private file: nothing')
  chmodSync(path, 0o666)
  load(path)
  await settle()
  t.match(warnings.pop(), {
    code: 'PROXY_AWARE_PRESETS_WRITABLE',
    message: /presetsFile ".*presets\.json" can be written by other users \(mode 666\)/,
  })
  chmodSync(path, 0o644)
  chmodSync(dir, 0o777)
  load(path)
  await settle()
  t.match(warnings.pop(), {
    message: /the folder ".*proxy-aware-perm-[^"]*" of presetsFile can be written by other users \(mode 777\)/,
  })
  chmodSync(dir, 0o1777)
  load(path)
  await settle()
  t.same(warnings, [], 'a sticky folder (like /tmp): others cannot replace the file')
})

t.test('check --strict goes through the same loader: a future date fails it, and so does a writable file', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-check-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const run = async (presets: unknown, mode = 0o600) => {
    const path = join(dir, 'presets.json')
    writeFileSync(path, JSON.stringify(presets))
    chmodSync(path, mode)
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ trust: ['cloudflare'], presetsFile: path, maxPresetAge: 0 }),
    )
    let err = ''
    const stderr = new PassThrough().on('data', c => (err += String(c)))
    const io: Io = { stdout: new PassThrough(), stderr, env: {}, cwd: dir }
    return { code: await checkCommand.run({ strict: true }, ['config.json'], io), stderr: () => err }
  }
  const future = await run(cloudflare({ retrieved: { snapshot: '2099-01-01', taken: today } }))
  t.equal(future.code, 1)
  t.match(future.stderr(), /error: .*presetsFile.*cloudflare: retrieved has a date in the future \(2099-01-01\)/)
  t.equal((await run(cloudflare({}))).code, 0, 'a good file passes')
  const writable = await run(cloudflare({}), 0o666)
  t.equal(writable.code, 1)
  t.match(writable.stderr(), /warning: .*can be written by other users/)
})

t.test("a writable presets file is reported through the app's logger when it has one (Express's logger)", async t => {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-perm-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'presets.json')
  writeFileSync(path, JSON.stringify(cloudflare({})))
  chmodSync(path, 0o666)
  const processWarnings: string[] = []
  const onWarning = (w: Error & { code?: string }) => processWarnings.push(String(w.code))
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  const logged: Array<{ code?: unknown; option?: unknown }> = []
  const logger = { warn: (facts: { code?: unknown; option?: unknown }) => logged.push(facts), info() {} }
  trustProxy({ trust: ['cloudflare'], presetsFile: path, logger })
  await new Promise(r => setImmediate(r))
  t.match(logged, [{ code: 'PROXY_AWARE_PRESETS_WRITABLE', option: 'presetsFile' }], 'in the logger')
  t.notOk(processWarnings.includes('PROXY_AWARE_PRESETS_WRITABLE'), 'not as a process warning beside it')
})
