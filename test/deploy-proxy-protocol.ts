// Layer-4 balancers that terminate TLS and send the PROXY protocol, started
// from the recipes as written (docs/deployments/hitch/hitch.conf,
// stunnel/stunnel.conf, haproxy/haproxy-tcp-tls.cfg) in front of the Fastify
// and Express apps (test/fixtures/deployments.ts) wrapped by proxyProtocol():
// the client's address and https over IPv4 and ::1, no redirect loop, HSTS
// and Secure cookies; an attacker's own header with an SSL TLV is refused.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { ProxyProtocolOptions } from '../src/proxy-protocol/index.js'
import {
  certFiles,
  FRAMEWORKS,
  getTls6,
  hasIpv6Loopback,
  recipe,
  startApps,
  withoutIpv6,
} from './fixtures/deployments.js'
import { raw } from './fixtures/proxy-client.js'
import { ipv4Block, sslValue, v2 } from './fixtures/proxy-protocol.js'
import { recorder, request } from './support/http.js'
import { freePort, need, startProxy } from './support/proxies.js'

// real sockets and child processes on a shared machine
t.setTimeout(180_000)

const ipv6 = await hasIpv6Loopback()

/** headers a client writes to claim another address and http (or https) */
const FORGED = {
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-proto': 'http',
  'forwarded': 'for=6.6.6.6;proto=http',
}

interface Ports {
  tls: number
  /** what /origin answers over TLS: where the protocol came from, and the header */
  origin: { protocolFrom: string; from: string; entry: string; version: number; ssl: boolean | null }
  /** a plain port whose PROXY v2 header has no SSL TLV */
  http?: number
  app: number
}

const json = (r: { status: number; body: string }, what: string) => {
  if (r.status !== 200) throw new Error(`${what}: ${r.status} ${r.body}`)
  return JSON.parse(r.body) as Record<string, unknown>
}

/** The balancer's client over IPv4 and ::1: address, https, no loop, HSTS, Secure; a direct attacker refused. */
const scenarios = async (t: Test, name: string, p: Ports) => {
  for (const fw of FRAMEWORKS) {
    await t.test(`${name} in front of ${fw}`, async t => {
      const get = (path: string, headers: Record<string, string> = {}) =>
        request(p.tls, { secure: true, from: '127.0.0.5', path, headers: { host: `localhost:${p.tls}`, ...headers } })
      t.same(
        json(await get(`/${fw}/whoami`), 'whoami'),
        { ip: '127.0.0.5', protocol: 'https', host: 'localhost', reason: 'untrusted-peer' },
        "the client's address from the header, https from the balancer",
      )
      t.same(json(await get(`/${fw}/origin`), 'origin'), p.origin, 'https, from the PROXY protocol header')
      t.match(
        json(await get(`/${fw}/whoami`, FORGED), 'forged'),
        { ip: '127.0.0.5', protocol: 'https' },
        "the client's own X-Forwarded-*/Forwarded are not believed",
      )
      const login = await get(`/${fw}/login?next=/a`)
      t.equal(login.status, 200, 'the https request is served, not redirected to itself (no loop)')
      t.match(login.cookies, [/^sid=x;.*; Secure$/], 'the cookie is marked Secure')
      t.match(login.headers['strict-transport-security'], /^max-age=31536000/, 'HSTS over https')

      if (p.http !== undefined) {
        const headers = { 'host': `localhost:${p.http}`, 'x-forwarded-proto': 'https' }
        const plain = await request(p.http, { from: '127.0.0.5', path: `/${fw}/whoami`, headers })
        t.match(json(plain, 'plain'), { ip: '127.0.0.5', protocol: 'http' }, 'a v2 header without the SSL TLV: http')
        const o = await request(p.http, { from: '127.0.0.5', path: `/${fw}/origin`, headers })
        t.same(
          json(o, 'origin'),
          { protocolFrom: null, from: 'socket', entry: null, version: 2, ssl: null },
          'the header has no SSL TLV',
        )
        const redirect = await request(p.http, { from: '127.0.0.5', path: `/${fw}/login?next=/a`, headers })
        t.equal(redirect.status, 301, 'http through the balancer is redirected')
        t.equal(redirect.headers.location, `https://localhost:${p.tls}/${fw}/login?next=/a`)
        t.notOk(redirect.headers['strict-transport-security'], 'no HSTS over http')
      }

      if (ipv6) {
        t.match(json(await getTls6(p.tls, `/${fw}/whoami`), 'ipv6'), { ip: '::1', protocol: 'https' }, 'over ::1')
        const login6 = await getTls6(p.tls, `/${fw}/login`)
        t.equal(login6.status, 200, 'over ::1: served, not redirected')
        t.match(login6.headers['set-cookie'], [/; Secure$/])
        t.match(login6.headers['strict-transport-security'], /^max-age=/)
      } else {
        t.pass('IPv6 client', { skip: 'no IPv6 loopback (::1) on this machine' })
      }

      // an attacker reaching the app directly with its own header, SSL TLV included
      const forged = v2({ addr: ipv4Block('6.6.6.6', '127.0.0.1', 1, 443), tlvs: [[0x20, sslValue(1, 0, [])]] })
      const request_ = `GET /${fw}/whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`
      const direct = await raw({
        port: p.app,
        from: '127.0.0.66',
        chunks: [Buffer.concat([forged, Buffer.from(request_)])],
      })
      t.equal(direct.data.length, 0, 'a header from a peer outside trust: closed, nothing answered')
    })
  }
}

const start = async (
  t: Test,
  bin: string,
  pp: ProxyProtocolOptions,
  file: string,
  extra: Record<string, number>,
  onConnection?: () => void,
) => {
  const tls = await freePort()
  const app = await startApps(t, { tlsPort: tls, proxyProtocol: pp, ...(onConnection && { onConnection }) })
  const f = certFiles(t)
  const conf = recipe(file, { ...f, DIR: f.dir, APP_PORT: app, TLS_PORT: tls, ...extra })
  return { tls, app, f, conf }
}

const hitch = need(t, 'hitch')
if (hitch !== undefined) {
  await t.test('hitch, write-proxy-v2 (hitch/hitch.conf)', async t => {
    const { tls, app, f, conf } = await start(t, hitch, { trust: '127.0.0.1' }, 'hitch/hitch.conf', {})
    // as root (CI containers), the workers must run as someone else
    const user = process.getuid?.() === 0 ? 'user = "nobody"\ngroup = "nogroup"\n' : ''
    writeFileSync(join(f.dir, 'hitch.conf'), withoutIpv6(conf, ipv6) + user)
    await startProxy(t, hitch, [`--config=${join(f.dir, 'hitch.conf')}`], [tls])
    const origin = {
      protocolFrom: 'proxy-protocol',
      from: 'proxy-protocol',
      entry: 'PP2_CLIENT_SSL',
      version: 2,
      ssl: true,
    }
    await scenarios(t, 'hitch', { tls, app, origin })
  })
}

const stunnel = need(t, 'stunnel4')
if (stunnel !== undefined) {
  await t.test('stunnel, protocol = proxy (stunnel/stunnel.conf)', async t => {
    const pp = { trust: '127.0.0.1', tls: 'terminated' } as const
    const { tls, app, f, conf } = await start(t, stunnel, pp, 'stunnel/stunnel.conf', {})
    // without ::1, the IPv6 service (the last one) cannot listen
    writeFileSync(join(f.dir, 'stunnel.conf'), ipv6 ? conf : conf.slice(0, conf.indexOf('[https-ipv6]')))
    await startProxy(t, stunnel, [join(f.dir, 'stunnel.conf')], [tls])
    const origin = {
      protocolFrom: 'proxy-protocol',
      from: 'proxy-protocol',
      entry: "tls: 'terminated'",
      version: 1,
      ssl: null,
    }
    await scenarios(t, 'stunnel', { tls, app, origin })
  })
}

const haproxy = need(t, 'haproxy')
if (haproxy !== undefined) {
  await t.test('HAProxy mode tcp, ssl bind, send-proxy-v2 (haproxy/haproxy-tcp-tls.cfg)', async t => {
    const http = await freePort()
    // every TCP connection to the app (requests and HAProxy's health
    // checks), counted before proxyProtocol reads it: a check that resets
    // before Node accepts it has no address and never reaches trust
    let connections = 0
    const appLog = recorder()
    const pp = { trust: '127.0.0.1', logger: appLog }
    const { tls, app, f, conf } = await start(
      t,
      haproxy,
      pp,
      'haproxy/haproxy-tcp-tls.cfg',
      {
        HTTP_PORT: http,
      },
      () => void ++connections,
    )
    writeFileSync(join(f.dir, 'haproxy.cfg'), withoutIpv6(conf, ipv6))
    await startProxy(t, haproxy, ['-db', '-f', join(f.dir, 'haproxy.cfg')], [tls, http])
    const origin = {
      protocolFrom: 'proxy-protocol',
      from: 'proxy-protocol',
      entry: 'PP2_CLIENT_SSL',
      version: 2,
      ssl: true,
    }
    await scenarios(t, 'HAProxy', { tls, http, app, origin })
    // no request now: whatever connects is a health check (check check-send-proxy inter 1s, both backends)
    // (HAProxy spaces its checks by inter; allow a loaded machine 60 s for 4)
    const before = connections
    const until = Date.now() + 60_000
    while (connections < before + 4 && Date.now() < until) await new Promise(r => setTimeout(r, 100))
    t.ok(
      connections >= before + 4,
      `HAProxy health-checked the app (${connections - before} connections while no request was made)`,
    )
    // (the scenarios' attacker at 127.0.0.66 is refused and logged on purpose)
    const attacker = appLog.entries.filter(e => e.obj.peer === '127.0.0.66')
    t.ok(attacker.length > 0, 'the log is the one the refusals go to')
    t.same(
      appLog.entries.filter(e => !attacker.includes(e)),
      [],
      "the health checks (and the requests) left no warning in the app's log",
    )
  })
}
