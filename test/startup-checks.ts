// What the options say by themselves, told at startup and by `proxy-aware
// check` (issue 20 items 7 and 8): trust-everyone setups (true, a hop count,
// ranges covering the public space) and vendor headers the vendor passes
// through from the client unless configured.
import t from 'tap'
import fc from 'fast-check'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import ipaddr from 'ipaddr.js'
import express from 'express'
import type { Io } from '../src/cli/command.js'
import { main } from '../src/cli/main.js'
import { captureWarnings } from '../src/cli/warnings.js'
import { createTrustProxy, type TrustProxyOptions } from '../src/index.js'
import expressTrustProxy from '../src/express.js'
import { compileTrust } from '../src/engine/trust.js'
import { publicCoverage, WIDE_V4, WIDE_V6 } from '../src/engine/startup-checks.js'
import { VENDOR_PRESETS } from '../src/vendors/presets.js'

const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-startup-'))

/** `proxy-aware check [--strict] <options as a file>`, in this process. */
const check = async (options: unknown, strict = true) => {
  const file = `c${Math.random().toString(36).slice(2)}.json`
  writeFileSync(join(dir, file), JSON.stringify(options))
  const out = new PassThrough()
  const err = new PassThrough()
  let stdout = ''
  let stderr = ''
  out.on('data', d => (stdout += String(d)))
  err.on('data', d => (stderr += String(d)))
  const io: Io = { stdout: out, stderr: err, env: {}, cwd: dir }
  const code = await main(['check', ...(strict ? ['--strict'] : []), file], io)
  return { code, stdout, stderr }
}

/** The codes the engine reports while it compiles `options`. */
const codes = async (options: TrustProxyOptions) => {
  const { warnings, error } = await captureWarnings(() => createTrustProxy(options))
  if (error !== undefined) throw error
  return warnings.map(w => w.code)
}

t.test('check --strict fails on trust-everyone setups, which now warn at startup', async t => {
  const cases: Array<[unknown, string, RegExp]> = [
    [true, 'PROXY_AWARE_TRUST_ALL', /trust: true trusts every peer/],
    [2, 'PROXY_AWARE_HOP_COUNT', /is a hop count/],
    [['0.0.0.0/1', '128.0.0.0/1'], 'PROXY_AWARE_TRUST_WIDE', /covers \d+ public IPv4 addresses \(100% of them\)/],
    ['0.0.0.0/2, 64.0.0.0/3', 'PROXY_AWARE_TRUST_WIDE', /public IPv4 addresses/],
    [['2000::/3'], 'PROXY_AWARE_TRUST_WIDE', /100% of the public IPv6 space/],
    [['2000::/8', 'loopback'], 'PROXY_AWARE_TRUST_WIDE', /of the public IPv6 space/],
    [['1.0.0.0/8'], 'PROXY_AWARE_TRUST_WIDE', /16777216 public IPv4 addresses/],
  ]
  for (const [trust, code, message] of cases) {
    const r = await check({ trust })
    t.equal(r.code, 1, `${JSON.stringify(trust)} fails --strict`)
    t.match(r.stderr, message)
    t.match(r.stderr, `[${code}]`)
    t.match(await check({ trust }, false), { code: 0, stdout: /valid, 1 warning\(s\)/ }, 'valid without --strict')
    t.same(await codes({ trust } as TrustProxyOptions), [code], 'the engine warns once at startup')
  }
})

t.test('narrow and private lists, and every vendor preset together, are not "wide"', async t => {
  const fine: unknown[] = [
    ['private'],
    ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fe80::/10', '::1'],
    // the documentation and benchmarking ranges are no one's clients either
    ['198.18.0.0/15', '203.0.113.0/24', '2001:db8::/32'],
    ['1.0.0.0/9', '2400::/17'],
  ]
  for (const trust of fine) t.match(await check({ trust }), { code: 0, stdout: /: ok\n$/ }, JSON.stringify(trust))
  const all = [...VENDOR_PRESETS]
  const r = await check({
    trust: all,
    gcpForwardingRule: '34.120.0.10',
    azureFrontDoorId: '55ce4ed1-4b06-4bf1-b40e-4638452104da',
    maxPresetAge: false,
  })
  t.equal(r.code, 0, `all the presets: ${r.stderr}`)
  const { ranges } = compileTrust(all, { gcpForwardingRule: '34.120.0.10' })
  const cover = publicCoverage(ranges!)
  t.ok(cover.v4 * 4n < WIDE_V4, `the presets cover ${cover.v4} public IPv4 addresses, far below ${WIDE_V4}`)
  t.ok(cover.v6 * 1000n < WIDE_V6, 'and far below the IPv6 threshold')
})

t.test('publicCoverage agrees with ipaddr.js address by address', async t => {
  fc.assert(
    fc.property(
      fc.ipV4(),
      fc.integer({ min: 20, max: 32 }),
      fc.ipV4(),
      fc.integer({ min: 22, max: 32 }),
      (a, p, b, q) => {
        const { ranges } = compileTrust([`${mask(a, p)}/${p}`, `${mask(b, q)}/${q}`])
        const seen = new Set<number>()
        let unicast = 0n
        for (const [net, prefix] of [
          [a, p],
          [b, q],
        ] as const) {
          const start = ipaddr.IPv4.parse(mask(net, prefix))
            .toByteArray()
            .reduce((n, x) => n * 256 + x, 0)
          for (let i = 0; i < 2 ** (32 - prefix); i++) {
            if (seen.has(start + i)) continue
            seen.add(start + i)
            const addr = ipaddr.fromByteArray([
              (start + i) >>> 24,
              ((start + i) >>> 16) & 255,
              ((start + i) >>> 8) & 255,
              (start + i) & 255,
            ])
            if (addr.range() === 'unicast') unicast++
          }
        }
        return publicCoverage(ranges!).v4 === unicast
      },
    ),
    { numRuns: 60 },
  )
  // IPv6: outside 2000::/3 nothing is public; 2001:db8::/32 is documentation
  const v6 = (list: string[]) => publicCoverage(compileTrust(list).ranges!).v6
  t.equal(v6(['4000::/2']), 0n)
  t.equal(v6(['2001:db8::/32']), 0n)
  t.equal(v6(['2606:4700::/32']), 1n << 96n)
})

/** The network address of `ip`/`prefix`. */
const mask = (ip: string, prefix: number) => {
  const bytes = ipaddr.IPv4.parse(ip).toByteArray()
  const n = (bytes.reduce((v, x) => v * 256 + x, 0) >>> (32 - prefix)) * 2 ** (32 - prefix)
  return ipaddr.fromByteArray([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]).toString()
}

t.test('a vendor header the vendor passes through from the client warns, naming the setting', async t => {
  const cases: Array<[TrustProxyOptions, RegExp]> = [
    [
      { trust: ['cloudflare'], clientIpHeader: 'true-client-ip' },
      /Cloudflare passes a client's own true-client-ip.*Managed Transform "Add True-Client-IP header".*"cf-connecting-ip"/,
    ],
    [
      { trust: ['cloudfront'], clientIpHeader: 'true-client-ip' },
      /CloudFront passes.*CloudFront Function that sets true-client-ip from event\.viewer\.ip.*"cloudfront-viewer-address"/,
    ],
    [
      { trust: ['fastly'], clientIpHeader: 'Fastly-Client-IP' as 'fastly-client-ip' },
      /Fastly passes.*set req\.http\.Fastly-Client-IP = client\.ip.*X-Forwarded-For walk/,
    ],
  ]
  for (const [options, message] of cases) {
    const r = await check({ ...options, maxPresetAge: false })
    t.equal(r.code, 1, `${options.clientIpHeader} with ${String(options.trust)} fails --strict`)
    t.match(r.stderr, message)
    t.match(r.stderr, '[PROXY_AWARE_CLIENT_IP_HEADER_PASS_THROUGH]')
    const confirmed = await check({ ...options, clientIpHeaderConfirmed: true, maxPresetAge: false })
    t.match(confirmed, { code: 0, stdout: /: ok\n$/ }, 'clientIpHeaderConfirmed: the user set the vendor up')
  }
  // the headers the vendor itself always writes
  for (const options of [
    { trust: ['cloudflare'], clientIpHeader: 'cf-connecting-ip' },
    { trust: ['cloudfront'], clientIpHeader: 'cloudfront-viewer-address' },
    { trust: ['loopback'], clientIpHeader: 'x-real-ip' },
  ]) {
    t.match(await check({ ...options, maxPresetAge: false }), { code: 0 }, options.clientIpHeader)
  }
  t.match(await check({ trust: ['loopback'], clientIpHeaderConfirmed: 'yes' }), {
    code: 1,
    stderr: /option "clientIpHeaderConfirmed" must be a boolean/,
  })
  // Front Door without its id: warns, and fails --strict
  t.match(await check({ trust: ['azure-front-door'], maxPresetAge: false }), {
    code: 1,
    stderr: /\[PROXY_AWARE_AZURE_FDID\]/,
  })
})

t.test("PROXY_AWARE_AZURE_FDID and the startup warnings go to the app's logger", async t => {
  const logged: Array<[unknown, string | undefined]> = []
  const logger = { warn: (obj: unknown, msg?: string) => void logged.push([obj, msg]), info() {} }
  const { warnings } = await captureWarnings(() => {
    express().use(expressTrustProxy({ trust: ['azure-front-door'], logger, maxPresetAge: false }))
    express().use(expressTrustProxy({ trust: true, logger }))
    // a sibling: a trust function's truthy non-boolean answer
    expressTrustProxy({ trust: ((a: string) => a.match(/^10\./)) as never, logger }).trust('10.0.0.1', 0)
  })
  t.same(warnings, [], 'nothing through process.emitWarning')
  t.same(
    logged.map(([obj]) => (obj as { code: string }).code),
    ['PROXY_AWARE_AZURE_FDID', 'PROXY_AWARE_TRUST_ALL', 'PROXY_AWARE_TRUST_NOT_BOOLEAN'],
  )
  t.match(logged[0]![1], /Set azureFrontDoorId to your profile's ID/)
  // compiled without a sink (the client-certificate probe's own compile): process.emitWarning
  const direct = await captureWarnings(() => compileTrust(() => 'yes' as never).match(0, 0, '10.0.0.1'))
  t.same(
    direct.warnings.map(w => w.code),
    ['PROXY_AWARE_TRUST_NOT_BOOLEAN'],
  )
})
