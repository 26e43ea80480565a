// Vendor presets in `trust`: each vendor's documented header shape, a
// forged header from outside the vendor's ranges, the GCP and Fly
// trailing-address traps, platform confirmation, the AWS answer, and ALB's
// ip:port entries. Addresses inside a vendor's ranges are taken from its
// data file, so a refreshed file keeps these tests meaningful.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { createTrustProxy, ProxyAwareConfigError, type TrustProxyOptions } from '../src/index.js'
import { trustProxy } from '../src/fastify.js'
import { bundledRanges, inside } from './support/presets.js'

const ranges = bundledRanges
const firstV4 = (vendor: string) => inside(ranges(vendor).find(r => !r.includes(':'))!)
const firstV6 = (vendor: string) => inside(ranges(vendor).find(r => r.includes(':'))!)

const req = (peer: string, headers: Record<string, string> = {}) => ({ headers, socket: { remoteAddress: peer } })
const resolve = (options: TrustProxyOptions, peer: string, headers: Record<string, string> = {}) =>
  createTrustProxy(options).resolve(req(peer, headers))

const CLIENT = '203.0.113.9'
const SPOOF = '198.51.100.66'
const OUTSIDER = '192.0.2.7'

const throwsConfig = (t: Test, fn: () => unknown, option: string, text: RegExp, label: string) => {
  try {
    fn()
    t.fail(`${label}: did not throw`)
  } catch (err) {
    t.type(err, ProxyAwareConfigError, label)
    t.equal((err as ProxyAwareConfigError).option, option, `${label}: names ${option}`)
    t.match((err as Error).message, text, label)
  }
}

// Cloudflare appends the visitor to X-Forwarded-For
// (developers.cloudflare.com/fundamentals/reference/http-headers/)
// CloudFront appends the viewer (AmazonCloudFront DeveloperGuide,
// adding-cloudfront-headers); Fastly and Azure Front Door append too.
for (const vendor of ['cloudflare', 'cloudfront', 'fastly', 'azure-front-door']) {
  t.test(`${vendor}: the client appended by an edge inside the ranges`, async t => {
    for (const edge of [firstV4(vendor), firstV6(vendor), `::ffff:${firstV4(vendor)}`]) {
      const r = resolve({ trust: vendor }, edge, {
        'x-forwarded-for': `${SPOOF}, ${CLIENT}`,
        'x-forwarded-proto': 'https',
      })
      t.equal(r.ip, CLIENT, `${vendor} edge ${edge}`)
      t.equal(r.protocol, 'https')
    }
    // the same headers straight from the internet are not believed
    const forged = resolve({ trust: vendor }, OUTSIDER, { 'x-forwarded-for': CLIENT, 'x-forwarded-proto': 'https' })
    t.equal(forged.ip, OUTSIDER, 'forged from outside the ranges')
    t.equal(forged.protocol, 'http')
    t.equal(forged.reason, 'untrusted-peer')
    // an address inside the vendor's ranges written into the header by a
    // client does not make the client trusted
    const chain = resolve({ trust: vendor }, firstV4(vendor), {
      'x-forwarded-for': `${CLIENT}, ${firstV4(vendor)}, ${OUTSIDER}`,
    })
    t.equal(chain.ip, OUTSIDER)
  })
}

t.test('presets combine with addresses, case-insensitively; CloudFront in front of an ALB', async t => {
  const vpcPeer = '10.0.12.7'
  const r = resolve({ trust: ['10.0.0.0/16', 'CloudFront'] }, vpcPeer, {
    'x-forwarded-for': `${SPOOF}, ${CLIENT}, ${firstV4('cloudfront')}`,
  })
  t.equal(r.ip, CLIENT)
  t.equal(r.hops, 2)
  const s = resolve({ trust: 'loopback, cloudflare' }, '127.0.0.1', {
    'x-forwarded-for': `${CLIENT}, ${firstV4('cloudflare')}`,
  })
  t.equal(s.ip, CLIENT)
})

t.test('Cloudflare: the 104.16.0.0/13 range is not the old /12 (104.24-31 is not all Cloudflare)', async t => {
  const proxy = createTrustProxy({ trust: 'cloudflare' })
  t.equal(proxy.trust('104.16.0.1', 0), true)
  // 104.28.0.0/14 is outside 104.16.0.0/13 and 104.24.0.0/14
  t.equal(proxy.trust('104.28.0.1', 0), false)
})

t.test('gcp-lb: the forwarding-rule IP after the client (GCP trailing-address trap)', async t => {
  // Google documents the header as "X-Forwarded-For: <unverified IP(s)>,
  // <immediate client IP>, <global forwarding rule external IP>, <proxies
  // running in GCP>" ("Setting Up HTTP(S) Load Balancing", quoted in
  // serverfault 908724); the peer is a Google Front End.
  const gfe = firstV4('gcp-lb')
  const lb = '34.120.0.10'
  const headers = { 'x-forwarded-for': `${SPOOF}, ${CLIENT}, ${lb}`, 'x-forwarded-proto': 'https' }
  // the trap: Google's ranges alone make the load balancer the client
  t.equal(resolve({ trust: ranges('gcp-lb') }, gfe, headers).ip, lb, 'trap reproduced with the ranges alone')
  // the preset needs the forwarding rule, and then finds the client
  throwsConfig(
    t,
    () => createTrustProxy({ trust: 'gcp-lb' }),
    'gcpForwardingRule',
    /is required with the "gcp-lb" preset: .*<client IP>, <forwarding rule external IP>.*gcpForwardingRule: "34\.120\.0\.10"/,
    'gcp-lb alone',
  )
  const r = resolve({ trust: 'gcp-lb', gcpForwardingRule: lb }, gfe, headers)
  t.equal(r.ip, CLIENT)
  t.equal(r.protocol, 'https')
  t.equal(
    resolve({ trust: 'gcp-lb', gcpForwardingRule: ['2600:1901:0:1::', lb] }, firstV6('gcp-lb'), headers).ip,
    CLIENT,
    'IPv6 GFE, two forwarding rules',
  )
  // a forged header from outside Google's ranges
  t.equal(resolve({ trust: 'gcp-lb', gcpForwardingRule: lb }, OUTSIDER, headers).ip, OUTSIDER)
  // bad values and a stray option
  for (const bad of ['', 'lb.example.com', '34.120.0.0/24', [], [42], { ip: lb }]) {
    throwsConfig(
      t,
      () => createTrustProxy({ trust: 'gcp-lb', gcpForwardingRule: bad as string }),
      'gcpForwardingRule',
      /must be the load balancer's external IP address/,
      JSON.stringify(bad),
    )
  }
  throwsConfig(
    t,
    () => createTrustProxy({ trust: 'cloudflare', gcpForwardingRule: lb }),
    'gcpForwardingRule',
    /is set but trust has no "gcp-lb" preset/,
    'stray gcpForwardingRule',
  )
})

t.test('platform presets activate only with the platform option; the variable is a hint', async t => {
  for (const [platform, env] of [
    ['fly', 'FLY_APP_NAME'],
    ['heroku', 'DYNO'],
    ['vercel', 'VERCEL'],
  ] as const) {
    throwsConfig(
      t,
      () => createTrustProxy({ trust: platform }),
      'trust',
      new RegExp(
        `has the preset "${platform}", which trusts whatever connects to the app .*publishes no .*confirm with the option platform: '${platform}'$`,
      ),
      `${platform} unconfirmed`,
    )
    t.ok(createTrustProxy({ trust: platform, platform }), `${platform} with platform`)
    // issue 20 item 9: VERCEL=0, DYNO=false or any value of the variable
    // used to activate the preset (every peer trusted) without a word
    for (const value of ['set-by-the-platform', '0', 'false', '1']) {
      process.env[env] = value
      try {
        throwsConfig(
          t,
          () => createTrustProxy({ trust: platform }),
          'trust',
          new RegExp(
            `confirm with the option platform: '${platform}' \\(${env} is set, a hint that it does; the variable alone never activates the preset\\)`,
          ),
          `${platform} with ${env}=${value}`,
        )
        t.ok(createTrustProxy({ trust: platform, platform }), `${platform} with ${env} and platform`)
        // an explicit, different platform is refused
        const other = platform === 'fly' ? 'heroku' : 'fly'
        throwsConfig(
          t,
          () => createTrustProxy({ trust: platform, platform: other }),
          'platform',
          new RegExp(`is "${other}" but trust has the preset "${platform}"`),
          `${platform} with platform ${other}`,
        )
      } finally {
        delete process.env[env]
      }
    }
  }
  throwsConfig(
    t,
    () => createTrustProxy({ trust: 'loopback', platform: 'render' as 'fly' }),
    'platform',
    /must be one of 'fly', 'heroku', 'vercel'.*got "render"/,
    'unknown platform',
  )
})

t.test("fly: the app's own IP rightmost is skipped (Fly trailing-address trap)", async t => {
  // "the last address in this list will be a shared or dedicated IP address
  // assigned to your app" and it is the rightmost (fly.io/docs/networking/
  // request-headers/, superfly/docs#1714); the peer is Fly Proxy
  const appIp = '66.241.125.10'
  const r = resolve({ trust: 'fly', platform: 'fly' }, 'fdaa:0:1:a7b:1::2', {
    'x-forwarded-for': `${SPOOF}, ${CLIENT}, ${appIp}`,
    'x-forwarded-proto': 'https',
    'fly-client-ip': CLIENT,
  })
  t.equal(r.ip, CLIENT)
  t.equal(r.hops, 2)
  t.equal(r.protocol, 'https')
  // a client cannot push the walk further: its own entries stay left of it
  t.equal(
    resolve({ trust: 'fly', platform: 'fly' }, '172.19.0.2', { 'x-forwarded-for': `${CLIENT}, ${appIp}` }).ip,
    CLIENT,
  )
})

t.test('heroku: the router appends the peer it saw', async t => {
  // devcenter.heroku.com/articles/http-routing
  const r = resolve({ trust: 'heroku', platform: 'heroku' }, '10.1.22.33', {
    'x-forwarded-for': `${SPOOF}, ${CLIENT}`,
    'x-forwarded-proto': 'https',
    'x-forwarded-port': '443',
  })
  t.equal(r.ip, CLIENT)
  t.equal(r.hops, 1)
  t.equal(r.protocol, 'https')
})

t.test('vercel: x-forwarded-for is the client, overwritten by Vercel', async t => {
  // vercel.com/docs/headers/request-headers
  const r = resolve({ trust: 'vercel', platform: 'vercel' }, '169.254.100.6', {
    'x-forwarded-for': CLIENT,
    'x-real-ip': CLIENT,
    'x-forwarded-proto': 'https',
  })
  t.equal(r.ip, CLIENT)
  t.equal(r.protocol, 'https')
  // a platform preset combines with ranges: a local sidecar in front
  const s = resolve({ trust: ['vercel', 'loopback'], platform: 'vercel' }, '127.0.0.1', {
    'x-forwarded-for': `${SPOOF}, ${CLIENT}, 127.0.0.1`,
  })
  t.equal(s.ip, CLIENT)
})

t.test('AWS load balancers: the answer is your VPC CIDR', async t => {
  for (const name of ['aws-alb', 'aws-elb', 'aws-nlb', 'alb', 'AWS-ALB']) {
    throwsConfig(
      t,
      () => createTrustProxy({ trust: ['loopback', name] }),
      'trust',
      /AWS load balancers \(ALB, NLB\) connect from your own VPC subnets and AWS publishes no range for them: list your VPC's CIDR instead, e.g\. trust: \["10\.0\.0\.0\/16"\]/,
      name,
    )
  }
  // the one-liner: trust the VPC; ALB's default "append" mode
  // (docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html)
  t.equal(resolve({ trust: '10.0.0.0/16' }, '10.0.3.4', { 'x-forwarded-for': `${SPOOF}, ${CLIENT}` }).ip, CLIENT)
})

t.test('ALB with client-port preservation: ip:port entries', async t => {
  // routing.http.xff_client_port.enabled: "ip:port" and "[ipv6]:port"
  const trust = '10.0.0.0/16'
  t.equal(resolve({ trust }, '10.0.3.4', { 'x-forwarded-for': `${CLIENT}:41234` }).ip, CLIENT)
  t.equal(resolve({ trust }, '10.0.3.4', { 'x-forwarded-for': '[2001:DB8::9]:8080' }).ip, '2001:db8::9')
  // a trusted proxy written with its port still matches the range
  t.equal(resolve({ trust }, '10.0.3.4', { 'x-forwarded-for': `${CLIENT}:1, 10.0.9.9:443` }).ip, CLIENT)
})

t.test('through Fastify: a preset in trust, a forged header from outside', async t => {
  const app = Fastify()
  await app.register(trustProxy, { trust: 'cloudflare' })
  app.get('/', req => ({ ip: req.ip, protocol: req.protocol }))
  // inject() connects from 127.0.0.1, outside Cloudflare's ranges
  const res = await app.inject({ url: '/', headers: { 'x-forwarded-for': CLIENT, 'x-forwarded-proto': 'https' } })
  t.same(res.json(), { ip: '127.0.0.1', protocol: 'http' })
  const edge = await app.inject({
    url: '/',
    remoteAddress: firstV4('cloudflare'),
    headers: { 'x-forwarded-for': CLIENT, 'x-forwarded-proto': 'https' },
  })
  t.same(edge.json(), { ip: CLIENT, protocol: 'https' })
})

t.test('platform presets are refused with forwarded client certificates', async t => {
  // they trust any peer, so any client could send its own certificate header
  for (const platform of ['fly', 'heroku', 'vercel'] as const) {
    throwsConfig(
      t,
      () =>
        createTrustProxy({
          trust: platform,
          platform,
          clientCert: { mode: 'optional', forwarded: { source: 'nginx' } },
        }),
      'trust',
      /trusts 192\.0\.2\.1 \(hop 0\), a documentation address/,
      platform,
    )
  }
  // a vendor range preset passes the same probe
  t.ok(createTrustProxy({ trust: 'cloudflare', clientCert: { mode: 'optional', forwarded: { source: 'nginx' } } }))
})
