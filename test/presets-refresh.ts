// `proxy-aware refresh-presets`: run through its Command interface with
// in-memory streams, fetching from a local HTTP server that serves the
// vendors' documented layouts (filled with the bundled lists, which were
// taken from those same documents). No test reaches the internet.
import t, { type Test } from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { PassThrough } from 'node:stream'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listen } from './support/http.js'
import { hugeList } from './support/presets.js'
import { refreshCommand } from '../src/cli/refresh.js'
import type { Io } from '../src/cli/command.js'
import { createTrustProxy, refreshPresets } from '../src/index.js'

const bundled = (vendor: string): string[] =>
  JSON.parse(readFileSync(new URL(`../data/presets/${vendor}.json`, import.meta.url), 'utf8')).ranges
const v4 = (ranges: string[]) => ranges.filter(r => !r.includes(':'))
const v6 = (ranges: string[]) => ranges.filter(r => r.includes(':'))

/** The vendors' responses, in their documented layouts (see src/vendors/presets-refresh.ts). */
type Route = { status: number; body: string; lastModified?: string }
const recorded = (): Record<string, Route> => {
  const cf = bundled('cloudflare')
  const cfr = bundled('cloudfront')
  const fastly = bundled('fastly')
  return {
    '/www.cloudflare.com/ips-v4': { status: 200, body: `${v4(cf).join('\n')}\n` },
    '/www.cloudflare.com/ips-v6': { status: 200, body: `${v6(cf).join('\n')}\n` },
    '/ip-ranges.amazonaws.com/ip-ranges.json': {
      status: 200,
      body: JSON.stringify({
        syncToken: '1795000000',
        createDate: '2026-11-20-10-11-12',
        prefixes: [
          {
            ip_prefix: '3.5.140.0/22',
            region: 'ap-northeast-2',
            network_border_group: 'ap-northeast-2',
            service: 'AMAZON',
          },
          ...v4(cfr).map(p => ({
            ip_prefix: p,
            region: 'GLOBAL',
            network_border_group: 'GLOBAL',
            service: 'CLOUDFRONT_ORIGIN_FACING',
          })),
        ],
        ipv6_prefixes: v6(cfr).map(p => ({
          ipv6_prefix: p,
          region: 'GLOBAL',
          network_border_group: 'GLOBAL',
          service: 'CLOUDFRONT_ORIGIN_FACING',
        })),
      }),
    },
    '/api.fastly.com/public-ip-list': {
      status: 200,
      body: JSON.stringify({ addresses: v4(fastly), ipv6_addresses: v6(fastly) }),
    },
  }
}

/** The local vendor server; `routes` may be changed per test. */
const vendorServer = async (t: Test) => {
  const routes = recorded()
  const server = http.createServer((req, res) => {
    const route = routes[req.url!]
    res.writeHead(route?.status ?? 404, {
      'content-type': 'text/plain',
      ...(route?.lastModified !== undefined && { 'last-modified': route.lastModified }),
    })
    res.end(route?.body ?? 'not found')
  })
  const port = await listen(t, server)
  return { routes, baseUrl: `http://127.0.0.1:${port}` }
}

/** An Io of in-memory streams and a temporary working directory. */
const memoryIo = (env: NodeJS.ProcessEnv = {}) => {
  const out: string[] = []
  const err: string[] = []
  const stdout = new PassThrough().on('data', c => out.push(String(c)))
  const stderr = new PassThrough().on('data', c => err.push(String(c)))
  const cwd = mkdtempSync(join(tmpdir(), 'proxy-aware-refresh-'))
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }))
  const io: Io = { stdout, stderr, env, cwd }
  return { io, stdout: () => out.join(''), stderr: () => err.join('') }
}

t.test('success: one file with every vendor that has a URL, loadable by the app', async t => {
  const { baseUrl } = await vendorServer(t)
  const { io, stdout, stderr } = memoryIo()
  const code = await refreshCommand.run({ 'base-url': baseUrl, 'out': 'fresh.json' }, [], io)
  t.equal(code, 0, stderr())
  const path = join(io.cwd, 'fresh.json')
  const file = JSON.parse(readFileSync(path, 'utf8'))
  t.same(Object.keys(file.presets).sort(), ['cloudflare', 'cloudfront', 'fastly'])
  t.same(file.presets.cloudflare.ranges, bundled('cloudflare'))
  t.same(file.presets.cloudfront.ranges, bundled('cloudfront'), 'only CLOUDFRONT_ORIGIN_FACING')
  t.match(file.presets.cloudfront, {
    retrieved: { snapshot: '2026-11-20' },
    sourceVersion: { syncToken: '1795000000', createDate: '2026-11-20-10-11-12' },
    source: ['https://ip-ranges.amazonaws.com/ip-ranges.json'],
  })
  t.same(file.presets.fastly.ranges, bundled('fastly'))
  t.match(stdout(), /cloudflare: 22 ranges/)
  t.match(stdout(), /azure-front-door: skipped: .*changes weekly/)
  t.match(stdout(), /gcp-lb: skipped: .*documentation only/)
  t.match(stdout(), /Load it with presetsFile: ".*fresh\.json" or PROXY_AWARE_PRESETS=/)
  // the app loads it, and it is fresh
  const proxy = createTrustProxy({ trust: ['fastly'], presetsFile: path, maxPresetAge: 1 })
  t.equal(
    proxy.resolve({ headers: { 'x-forwarded-for': '198.51.100.7' }, socket: { remoteAddress: '151.101.0.1' } }).ip,
    '198.51.100.7',
  )
})

t.test('the output defaults to $PROXY_AWARE_PRESETS; files for the vendors without a URL', async t => {
  const { baseUrl } = await vendorServer(t)
  const { io, stderr } = memoryIo({ PROXY_AWARE_PRESETS: 'from-env.json' })
  const azure = join(io.cwd, 'ServiceTags_Public_20261123.json')
  writeFileSync(
    azure,
    JSON.stringify({
      changeNumber: 401,
      cloud: 'Public',
      values: [
        { name: 'AzureCloud', properties: { changeNumber: 9, addressPrefixes: ['4.0.0.0/9'] } },
        {
          name: 'AzureFrontDoor.Backend',
          properties: { changeNumber: 22, addressPrefixes: bundled('azure-front-door') },
        },
      ],
    }),
  )
  const gcp = join(io.cwd, 'gcp.txt')
  writeFileSync(gcp, `# from the firewall-rules page\n${bundled('gcp-lb').join('\n')}\n`)
  const values = { 'base-url': baseUrl, 'vendor': ['azure-front-door', 'gcp-lb'], 'azure-file': azure, 'gcp-file': gcp }
  t.equal(await refreshCommand.run(values, [], io), 0, stderr())
  const file = JSON.parse(readFileSync(join(io.cwd, 'from-env.json'), 'utf8'))
  t.same(Object.keys(file.presets).sort(), ['azure-front-door', 'gcp-lb'])
  t.match(file.presets['azure-front-door'], {
    retrieved: { snapshot: '2026-11-23' },
    sourceVersion: { changeNumber: 401, tagChangeNumber: 22 },
  })
  t.same(file.presets['azure-front-door'].ranges, bundled('azure-front-door'))
  t.same(file.presets['gcp-lb'].ranges, bundled('gcp-lb'))
  // an undated file is dated by its modification time
  t.equal(file.presets['gcp-lb'].retrieved.snapshot, statSync(gcp).mtime.toISOString().slice(0, 10))
})

/** Run the command against the server with `routes` changed; expect a failure that wrote nothing. */
const fails = async (t: Test, change: (routes: Record<string, Route>) => void, why: RegExp, values = {}) => {
  const { routes, baseUrl } = await vendorServer(t)
  change(routes)
  const { io, stdout, stderr } = memoryIo()
  t.equal(await refreshCommand.run({ 'base-url': baseUrl, ...values }, [], io), 1)
  t.match(stderr(), why)
  t.match(stderr(), /Nothing was written/)
  t.equal(stdout(), '')
  t.notOk(existsSync(join(io.cwd, 'presets.json')), 'no file')
}

t.test('an HTTP error fails the command, naming the URL and status', t =>
  fails(
    t,
    r => (r['/api.fastly.com/public-ip-list']!.status = 503),
    /fastly: http:\/\/127\.0\.0\.1:\d+\/api\.fastly\.com\/public-ip-list answered HTTP 503/,
  ),
)

t.test('a malformed body fails the command', async t => {
  // Cloudflare's bot-challenge page in place of the list (seen in a mirror)
  await fails(
    t,
    r => (r['/www.cloudflare.com/ips-v4']!.body = '<!DOCTYPE html><title>Just a moment...</title>'),
    /cloudflare: "<!DOCTYPE html><title>Just a moment...<\/title>" is not a CIDR range/,
  )
  await fails(t, r => (r['/api.fastly.com/public-ip-list']!.body = '{"addresses": '), /fastly: .* did not return JSON/)
  await fails(
    t,
    r => (r['/api.fastly.com/public-ip-list']!.body = '{"addresses": "1.2.3.0/24"}'),
    /fastly: .*addresses is not an array/,
  )
  await fails(
    t,
    r => (r['/api.fastly.com/public-ip-list']!.body = '[]'),
    /fastly: .*ipv6|fastly: .*addresses is not an array/,
  )
  await fails(t, r => (r['/api.fastly.com/public-ip-list']!.body = 'null'), /fastly: .*returned null, not an object/)
  await fails(
    t,
    r => (r['/ip-ranges.amazonaws.com/ip-ranges.json']!.body = JSON.stringify({ prefixes: [], ipv6_prefixes: [] })),
    /cloudfront: .*createDate is missing/,
  )
  await fails(
    t,
    r => (r['/api.fastly.com/public-ip-list']!.body = JSON.stringify({ addresses: ['10.0.0.0/8'] })),
    /fastly: "10\.0\.0\.0\/8" is not all public unicast address space: it overlaps 10\.0\.0\.0\/8, private use/,
  )
  await fails(
    t,
    r => (r['/api.fastly.com/public-ip-list']!.body = JSON.stringify({ addresses: ['22.0.0.0/7'] })),
    /fastly: "22\.0\.0\.0\/7" is wider than \/8/,
  )
  await fails(
    t,
    r => (r['/api.fastly.com/public-ip-list']!.body = JSON.stringify({ addresses: ['151.101.0.1/16'] })),
    /fastly: "151\.101\.0\.1\/16" is refused as trust would refuse it: has host bits set after the \/16 prefix: write "151\.101\.0\.0\/16" for the range/,
  )
  await fails(
    t,
    r => (r['/api.fastly.com/public-ip-list']!.body = JSON.stringify({ addresses: [] })),
    /fastly: 0 ranges, outside 1-5000/,
  )
})

t.test('a list that shrank to less than half is refused, unless allowed', async t => {
  const shrink = (r: Record<string, Route>) =>
    (r['/api.fastly.com/public-ip-list']!.body = JSON.stringify({ addresses: ['151.101.0.0/16'] }))
  await fails(t, shrink, /fastly: has 1 ranges where the previous list had 21: refused as suspicious.*--allow-shrink/)
  const { routes, baseUrl } = await vendorServer(t)
  shrink(routes)
  const { io } = memoryIo()
  t.equal(await refreshCommand.run({ 'base-url': baseUrl, 'vendor': ['fastly'], 'allow-shrink': true }, [], io), 0)
  t.same(JSON.parse(readFileSync(join(io.cwd, 'presets.json'), 'utf8')).presets.fastly.ranges, ['151.101.0.0/16'])
})

t.test('usage and file errors', async t => {
  const { io, stderr } = memoryIo()
  t.equal(await refreshCommand.run({}, ['extra'], io), 2)
  t.match(stderr(), /unexpected argument "extra"[\s\S]*Usage: proxy-aware refresh-presets/)
  // the user's argument reaches the terminal escaped (diag's escaping, issue 20 item 10)
  const esc = memoryIo()
  t.equal(await refreshCommand.run({}, ['\u001b]0;x\u0007\u009b2J'], esc.io), 2)
  const controls = [...esc.stderr()].filter(ch => {
    const c = ch.charCodeAt(0)
    return (c < 0x20 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f)
  })
  t.same(controls, [], 'no control character but line breaks')
  t.match(esc.stderr(), /unexpected argument "\\u001b\]0;x\\u0007\\u009b2J"/)
  const bad = memoryIo()
  t.equal(await refreshCommand.run({ vendor: ['akamai'] }, [], bad.io), 2, 'an unknown vendor is a usage error')
  t.match(bad.stderr(), /--vendor akamai is not a vendor preset with ranges/)
  // refreshPresets itself reports it as that vendor's failure
  await t.rejects(refreshPresets({ vendors: ['akamai'] }), /akamai: not a vendor preset with ranges/)
  const none = memoryIo()
  t.equal(await refreshCommand.run({ vendor: ['gcp-lb'] }, [], none.io), 1)
  t.match(none.stderr(), /no vendor list to write/)
  const azure = memoryIo()
  const tags = join(azure.io.cwd, 'tags.json')
  writeFileSync(tags, JSON.stringify({ values: [{ name: 'AzureCloud', properties: {} }] }))
  t.equal(await refreshCommand.run({ 'vendor': ['azure-front-door'], 'azure-file': tags }, [], azure.io), 1)
  t.match(azure.stderr(), /azure-front-door: .*tags\.json: no AzureFrontDoor\.Backend service tag/)
  const { baseUrl } = await vendorServer(t)
  const unwritable = memoryIo()
  const code = await refreshCommand.run(
    { 'base-url': baseUrl, 'vendor': ['fastly'], 'out': 'missing/dir/p.json' },
    [],
    unwritable.io,
  )
  t.equal(code, 1)
  t.match(unwritable.stderr(), /cannot write .*missing\/dir\/p\.json/)
  t.match(refreshCommand.usage, /Exit codes: 0 written, 1 a vendor failed \(nothing written\), 2 usage error/)
})

t.test('refreshPresets, the function: compared with a given previous list, and a timeout', async t => {
  const { routes, baseUrl } = await vendorServer(t)
  const result = await refreshPresets({
    baseUrl,
    vendors: ['fastly'],
    previous: () => undefined,
    now: new Date('2026-12-01T10:00:00Z'),
  })
  t.match(result.file, {
    schemaVersion: 1,
    generated: '2026-12-01T10:00:00.000Z',
    presets: { fastly: { retrieved: { snapshot: '2026-12-01', taken: '2026-12-01' } } },
  })
  t.same(result.skipped, {})
  // a server that never answers
  const silent = http.createServer(() => {})
  const port = await listen(t, silent)
  await t.rejects(
    refreshPresets({ baseUrl: `http://127.0.0.1:${port}`, vendors: ['fastly'], timeout: 50 }),
    /fastly: http:\/\/127\.0\.0\.1:\d+\/\S+: no answer within 50 ms/,
  )
  t.ok(routes)
})

t.test('a failed fetch says why (issue 24: "fetch failed" alone named no cause)', async t => {
  // a port nothing listens on: the network error's code and message
  const closed = await new Promise<number>(resolve => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
  await t.rejects(
    refreshPresets({ baseUrl: `http://127.0.0.1:${closed}`, vendors: ['fastly'] }),
    /fastly: http:\/\/127\.0\.0\.1:\d+\/\S+: fetch failed: ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:\d+/,
  )
  // a cause without a code (undici's own refusal of the scheme)
  await t.rejects(refreshPresets({ baseUrl: 'ftp://127.0.0.1', vendors: ['fastly'] }), /fetch failed: unknown scheme/)
})

t.test("without baseUrl it asks the vendors' official URLs (fetch stubbed: no test reaches the internet)", async t => {
  const asked: string[] = []
  const real = globalThis.fetch
  globalThis.fetch = (async (url: string) => {
    asked.push(String(url))
    return new Response('unavailable', { status: 503 })
  }) as typeof fetch
  t.teardown(() => {
    globalThis.fetch = real
  })
  await t.rejects(refreshPresets(), /cloudflare: https:\/\/www\.cloudflare\.com\/ips-v\d answered HTTP 503/)
  t.same(asked.sort(), [
    'https://api.fastly.com/public-ip-list',
    'https://ip-ranges.amazonaws.com/ip-ranges.json',
    'https://www.cloudflare.com/ips-v4',
    'https://www.cloudflare.com/ips-v6',
  ])
})

t.test(
  'attacks on refresh (issue 20): a list grown to most of IPv4, partly private ranges, zero padding, a range trust refuses',
  async t => {
    const fastly = (addresses: string[]) => (r: Record<string, Route>) =>
      (r['/api.fastly.com/public-ip-list']!.body = JSON.stringify({ addresses }))
    // item 1: the mirror that served 228 ranges, 85% of IPv4
    await fails(
      t,
      fastly(hugeList()),
      /fastly: 228 ranges covering \d+ IPv4 addresses \(8\d\.\d+% of IPv4\) and 0 IPv6 \/64s, where the bundled list has 21 ranges.*allowGrowth \/ --allow-growth/,
    )
    const { routes, baseUrl } = await vendorServer(t)
    fastly(hugeList())(routes)
    const { io } = memoryIo()
    t.equal(await refreshCommand.run({ 'base-url': baseUrl, 'vendor': ['fastly'], 'allow-growth': true }, [], io), 0)
    t.equal(JSON.parse(readFileSync(join(io.cwd, 'presets.json'), 'utf8')).presets.fastly.ranges.length, 228)
    // item 2
    for (const range of ['172.0.0.0/8', '192.128.0.0/9', '100.0.0.0/8', '169.0.0.0/8']) {
      await fails(t, fastly([range]), /is not all public unicast address space: it overlaps/)
    }
    await fails(
      t,
      r => (r['/www.cloudflare.com/ips-v6']!.body = '64::/16\n'),
      /cloudflare: "64::\/16" is not all public unicast address space: it overlaps outside 2000::\/3/,
    )
    // item 3: read as octal (198.33.128.0/17) before
    await fails(t, fastly(['198.041.128.000/17']), /"198\.041\.128\.000\/17" .*without leading zeros/)
    // item 4: the app could not start with it, and blamed trust
    await fails(
      t,
      r => (r['/www.cloudflare.com/ips-v6']!.body = '::fff0:0:0/92\n'),
      /cloudflare: "::fff0:0:0\/92" is refused as trust would refuse it: it contains the IPv4-mapped range/,
    )
  },
)

t.test('dates: none in the future, and where each came from (item 6)', async t => {
  const cloudfront = (createDate: string) => (r: Record<string, Route>) => {
    const doc = JSON.parse(r['/ip-ranges.amazonaws.com/ip-ranges.json']!.body)
    r['/ip-ranges.amazonaws.com/ip-ranges.json']!.body = JSON.stringify({ ...doc, createDate })
  }
  await fails(t, cloudfront('2099-01-01-00-00-00'), /cloudfront: the list is dated 2099-01-01, in the future/)
  // Last-Modified dates the text lists; without it, the day of the refresh, said so
  const { routes, baseUrl } = await vendorServer(t)
  routes['/www.cloudflare.com/ips-v4']!.lastModified = 'Tue, 24 Nov 2026 08:00:00 GMT'
  routes['/www.cloudflare.com/ips-v6']!.lastModified = 'Mon, 23 Nov 2026 08:00:00 GMT'
  routes['/api.fastly.com/public-ip-list']!.lastModified = 'not a date'
  const { io, stdout } = memoryIo()
  const dayBefore = new Date().toISOString().slice(0, 10)
  t.equal(await refreshCommand.run({ 'base-url': baseUrl }, [], io), 0)
  const { presets } = JSON.parse(readFileSync(join(io.cwd, 'presets.json'), 'utf8'))
  // the day of the refresh (the one it started on, or the next if it crossed midnight UTC)
  const today = presets.cloudflare.retrieved.taken
  t.ok([dayBefore, new Date().toISOString().slice(0, 10)].includes(today), `taken ${today}: the day of the refresh`)
  t.same(presets.cloudflare.retrieved, { snapshot: '2026-11-24', taken: today, snapshotFrom: 'last-modified' })
  t.same(presets.fastly.retrieved, { snapshot: today, taken: today, snapshotFrom: 'today' })
  t.same(presets.cloudfront.retrieved, { snapshot: '2026-11-20', taken: today, snapshotFrom: 'vendor' })
  t.match(stdout(), /cloudflare: 22 ranges, list of 2026-11-24 \(from the Last-Modified header\)/)
  t.match(stdout(), /fastly: 21 ranges, list of \d{4}-\d\d-\d\d \(undated: the day of the refresh\)/)
  t.match(stdout(), /cloudfront: 49 ranges, list of 2026-11-20 \(from the vendor's own date field\)/)
  await fails(
    t,
    r => (r['/api.fastly.com/public-ip-list']!.lastModified = 'Thu, 01 Jan 2099 00:00:00 GMT'),
    /fastly: the list is dated 2099-01-01, in the future \(from the Last-Modified header\)/,
  )
  // a file named for a future day, and one modified in the future
  const files = memoryIo()
  const azure = join(files.io.cwd, 'ServiceTags_Public_20991231.json')
  writeFileSync(
    azure,
    JSON.stringify({
      values: [{ name: 'AzureFrontDoor.Backend', properties: { addressPrefixes: ['13.73.248.0/21'] } }],
    }),
  )
  t.equal(await refreshCommand.run({ 'vendor': ['azure-front-door'], 'azure-file': azure }, [], files.io), 1)
  t.match(files.stderr(), /azure-front-door: the list is dated 2099-12-31, in the future \(from the file's name\)/)
  const gcp = join(files.io.cwd, 'gcp.txt')
  writeFileSync(gcp, '35.191.0.0/16\n')
  utimesSync(gcp, new Date('2099-06-01'), new Date('2099-06-01'))
  await t.rejects(
    refreshPresets({ vendors: ['gcp-lb'], files: { 'gcp-lb': gcp } }),
    /gcp-lb: the list is dated 2099-06-01, in the future \(from the file's modification time\)/,
  )
})

t.test('the temporary file is created exclusively: a planted symlink redirects nothing (item 5)', async t => {
  const { baseUrl } = await vendorServer(t)
  const { io, stderr } = memoryIo()
  const out = join(io.cwd, 'presets.json')
  const victim = join(io.cwd, 'victim.txt')
  writeFileSync(victim, 'keep me\n')
  // the name the refresh used to write (`${out}.${pid}.tmp`), planted as a symlink
  symlinkSync(victim, `${out}.${process.pid}.tmp`)
  t.equal(await refreshCommand.run({ 'base-url': baseUrl, 'vendor': ['fastly'] }, [], io), 0, stderr())
  t.equal(readFileSync(victim, 'utf8'), 'keep me\n', 'the symlink target is untouched')
  t.notOk(lstatSync(out).isSymbolicLink(), 'the presets file is a file of its own')
  t.same(JSON.parse(readFileSync(out, 'utf8')).presets.fastly.ranges.length, 21)
  // a rename that fails leaves no temporary file behind
  const dir = memoryIo()
  mkdirSync(join(dir.io.cwd, 'presets.json', 'inside'), { recursive: true })
  t.equal(await refreshCommand.run({ 'base-url': baseUrl, 'vendor': ['fastly'] }, [], dir.io), 1)
  t.match(dir.stderr(), /cannot write .*presets\.json/)
  t.same((await import('node:fs')).readdirSync(dir.io.cwd).sort(), ['presets.json'], 'no temporary file left')
})
