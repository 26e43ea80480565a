// The decision (issue 2, "The decision, exactly", rules 1-3, 6, 7) through
// createTrustProxy().resolve(req), plus a real Node http server.
import t from 'tap'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import { listen, request, unixPeer } from './support/http.js'
import {
  canonicalIp,
  createTrustProxy,
  type RequestLike,
  type Resolution,
  type TrustProxyOptions,
} from '../src/index.js'
import { compileEngine } from '../src/engine/index.js'
import type { FeatureCompiler } from '../src/features/feature.js'

type Headers = RequestLike['headers']

interface Case {
  name: string
  options?: Partial<TrustProxyOptions>
  remote: string | undefined
  /** the socket is a real Unix socket (remote is then undefined) */
  unix?: true
  encrypted?: boolean
  headers: Headers
  expect: Partial<Resolution>
}

const TRUST = ['loopback', '10.0.0.0/8', '2001:db8:aaaa::/48']
const [UNIX] = await unixPeer()

const run = (c: Case): Resolution => {
  const proxy = createTrustProxy({ trust: TRUST, ...c.options } as TrustProxyOptions)
  const socket = c.unix ? UNIX : { remoteAddress: c.remote, encrypted: c.encrypted }
  return proxy.resolve({ headers: c.headers, socket })
}

/** The assertions these helpers use, on any tap test object. */
type T = Pick<typeof t, 'same' | 'equal' | 'teardown'>

const pick = (r: Resolution, keys: readonly string[]) =>
  Object.fromEntries(keys.map(k => [k, r[k as keyof Resolution]]))

const check = (t: T, cases: Case[]) => {
  for (const c of cases) {
    const r = run(c)
    t.same(pick(r, Object.keys(c.expect)), c.expect, c.name)
    // invariants of every answer
    t.equal(r.secure, r.protocol === 'https', `${c.name}: secure`)
    t.equal(r.ip, r.ips[r.ips.length - 1], `${c.name}: ip is the last of ips`)
  }
}

t.test('the walk along X-Forwarded-For', async t => {
  check(t, [
    {
      name: 'untrusted peer: no header is read (GHSA-444r-cwp2-x5xf)',
      options: { forwardedHost: true },
      remote: '203.0.113.5',
      headers: {
        'x-forwarded-for': '1.2.3.4',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.example',
        'host': 'app.example',
      },
      expect: {
        ip: '203.0.113.5',
        ips: ['203.0.113.5'],
        peer: '203.0.113.5',
        hops: 0,
        source: 'socket',
        reason: 'untrusted-peer',
        protocol: 'http',
        host: 'app.example',
      },
    },
    {
      name: 'untrusted peer on TLS: protocol from the socket',
      remote: '203.0.113.5',
      encrypted: true,
      headers: { 'x-forwarded-proto': 'http' },
      expect: { ip: '203.0.113.5', protocol: 'https', secure: true },
    },
    {
      name: 'untrusted mapped peer is reported as IPv4',
      remote: '::ffff:203.0.113.5',
      headers: { 'x-forwarded-for': '10.0.0.1' },
      expect: { ip: '203.0.113.5', peer: '203.0.113.5', reason: 'untrusted-peer' },
    },
    {
      name: 'trusted peer, no header: the peer is the client',
      remote: '10.0.0.1',
      headers: {},
      expect: { ip: '10.0.0.1', ips: ['10.0.0.1'], hops: 0, source: 'socket', reason: 'end-of-chain' },
    },
    {
      name: 'empty header',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '' },
      expect: { ip: '10.0.0.1', ips: ['10.0.0.1'], hops: 0, source: 'socket', reason: 'end-of-chain' },
    },
    {
      name: 'whitespace and commas only',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': ' ,\t, ,' },
      expect: { ip: '10.0.0.1', ips: ['10.0.0.1'], source: 'socket', reason: 'end-of-chain' },
    },
    {
      name: 'one hop',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7' },
      expect: {
        ip: '198.51.100.7',
        ips: ['10.0.0.1', '198.51.100.7'],
        peer: '10.0.0.1',
        hops: 1,
        source: 'x-forwarded-for',
        reason: 'untrusted-hop',
      },
    },
    {
      name: 'a prepended spoof is never reached',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' },
      expect: { ip: '198.51.100.7', ips: ['10.0.0.1', '198.51.100.7'], hops: 1 },
    },
    {
      name: 'trusted entries are skipped',
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, 10.0.0.5, 10.9.9.9' },
      expect: {
        ip: '198.51.100.7',
        ips: ['127.0.0.1', '10.9.9.9', '10.0.0.5', '198.51.100.7'],
        hops: 3,
        reason: 'untrusted-hop',
      },
    },
    {
      name: 'a trusted-looking entry left of the client is not reached',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '6.6.6.6, 10.0.0.9, 198.51.100.7' },
      expect: { ip: '198.51.100.7', hops: 1 },
    },
    {
      name: 'every entry trusted: the leftmost is the client',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '10.0.0.3, 127.0.0.1, 10.0.0.2' },
      expect: {
        ip: '10.0.0.3',
        ips: ['10.0.0.1', '10.0.0.2', '127.0.0.1', '10.0.0.3'],
        hops: 3,
        source: 'x-forwarded-for',
        reason: 'end-of-chain',
      },
    },
    {
      name: 'trust: true believes the leftmost entry',
      options: { trust: true },
      remote: '203.0.113.5',
      headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' },
      expect: { ip: '6.6.6.6', hops: 2, reason: 'end-of-chain' },
    },
    // junk stops the walk; the last valid address is the client
    {
      name: 'junk from the peer: the peer is the client',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, unknown' },
      expect: { ip: '10.0.0.1', ips: ['10.0.0.1'], hops: 0, source: 'socket', reason: 'invalid-entry' },
    },
    {
      name: 'junk is never skipped to reach an older entry',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, <script>, 10.0.0.2' },
      expect: {
        ip: '10.0.0.2',
        ips: ['10.0.0.1', '10.0.0.2'],
        hops: 1,
        source: 'x-forwarded-for',
        reason: 'invalid-entry',
      },
    },
    {
      name: 'an obfuscated identifier is junk',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, _hidden' },
      expect: { ip: '10.0.0.1', reason: 'invalid-entry' },
    },
    {
      name: 'an octal address is junk, not 8.0.0.1',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, 010.0.0.1' },
      expect: { ip: '10.0.0.1', reason: 'invalid-entry' },
    },
    {
      name: 'integer and short forms are not loopback',
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '9.9.9.9, 2130706433' },
      expect: { ip: '127.0.0.1', reason: 'invalid-entry' },
    },
    {
      name: 'short form is not loopback',
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '9.9.9.9, 127.1' },
      expect: { ip: '127.0.0.1', reason: 'invalid-entry' },
    },
    {
      name: 'hex form is not loopback',
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '9.9.9.9, 0x7f.0.0.1' },
      expect: { ip: '127.0.0.1', reason: 'invalid-entry' },
    },
    {
      name: 'a zone id in a header is junk',
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '9.9.9.9, fe80::1%eth0' },
      expect: { ip: '127.0.0.1', reason: 'invalid-entry' },
    },
    {
      name: 'the unspecified IPv4 address is junk',
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '9.9.9.9, 0.0.0.0' },
      expect: { ip: '127.0.0.1', ips: ['127.0.0.1'], hops: 0, reason: 'invalid-entry', source: 'socket' },
    },
    {
      name: 'the unspecified IPv6 address is junk, with a port too',
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '9.9.9.9, [::]:443, 10.0.0.2' },
      expect: { ip: '10.0.0.2', ips: ['127.0.0.1', '10.0.0.2'], hops: 1, reason: 'invalid-entry' },
    },
    {
      name: 'the unspecified address is junk even as the leftmost entry, with trust: true',
      options: { trust: true },
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '::ffff:0.0.0.0, 10.0.0.2' },
      expect: { ip: '10.0.0.2', reason: 'invalid-entry' },
    },
    {
      name: 'the unspecified address in Forwarded is junk',
      options: { headers: ['forwarded'] },
      remote: '127.0.0.1',
      headers: { forwarded: 'for=9.9.9.9, for="[::]", for=10.0.0.2' },
      expect: { ip: '10.0.0.2', ips: ['127.0.0.1', '10.0.0.2'], reason: 'invalid-entry' },
    },
    {
      name: 'for=0.0.0.0 is junk',
      options: { headers: ['forwarded'] },
      remote: '127.0.0.1',
      headers: { forwarded: 'for=0.0.0.0' },
      expect: { ip: '127.0.0.1', reason: 'invalid-entry', source: 'socket' },
    },
    {
      name: 'an incomplete address is junk',
      remote: '127.0.0.1',
      headers: { 'x-forwarded-for': '1.2.3' },
      expect: { ip: '127.0.0.1', reason: 'invalid-entry' },
    },
    // ports and IPv6
    {
      name: 'a client port is dropped',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7:5555' },
      expect: { ip: '198.51.100.7', ips: ['10.0.0.1', '198.51.100.7'] },
    },
    {
      name: 'a trusted proxy written with a port still matches',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, 10.0.0.2:80' },
      expect: { ip: '198.51.100.7', hops: 2 },
    },
    {
      name: 'bracketed IPv6 with a port',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '[2001:DB8::1]:443' },
      expect: { ip: '2001:db8::1' },
    },
    {
      name: 'an unbracketed IPv6 address is not host:port',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '2001:db8::1:443' },
      expect: { ip: '2001:db8::1:443' },
    },
    {
      name: 'IPv6 spellings canonicalize',
      remote: '::1',
      headers: { 'x-forwarded-for': '2001:0DB8:0000:0000:0000:0000:0000:0001' },
      expect: { ip: '2001:db8::1', peer: '::1' },
    },
    {
      name: 'a mapped client is IPv4',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '::ffff:198.51.100.7' },
      expect: { ip: '198.51.100.7' },
    },
    {
      name: 'a mapped proxy matches IPv4 ranges',
      remote: '::ffff:10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, ::ffff:10.0.0.2' },
      expect: { ip: '198.51.100.7', ips: ['10.0.0.1', '10.0.0.2', '198.51.100.7'] },
    },
    {
      name: 'an IPv4-compatible entry does not match IPv4 ranges',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, ::10.0.0.2' },
      expect: { ip: '::a00:2', hops: 1 },
    },
    {
      name: 'NAT64 does not match IPv4 ranges',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, 64:ff9b::10.0.0.2' },
      expect: { ip: '64:ff9b::a00:2' },
    },
    {
      name: '6to4 does not match IPv4 ranges',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, 2002:a00:2::1' },
      expect: { ip: '2002:a00:2::1' },
    },
    {
      name: 'IPv6 proxies in a range',
      remote: '2001:db8:aaaa::1',
      headers: { 'x-forwarded-for': '2001:db8:bbbb::1, 2001:db8:aaaa:1::2' },
      expect: { ip: '2001:db8:bbbb::1', ips: ['2001:db8:aaaa::1', '2001:db8:aaaa:1::2', '2001:db8:bbbb::1'] },
    },
    // whitespace and list syntax
    {
      name: 'SP and HTAB are trimmed',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '\t 198.51.100.7 \t,\t10.0.0.2\t ' },
      expect: { ip: '198.51.100.7', hops: 2 },
    },
    {
      name: 'empty list members are skipped',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': ',, 198.51.100.7,, ,10.0.0.2,,' },
      expect: { ip: '198.51.100.7', ips: ['10.0.0.1', '10.0.0.2', '198.51.100.7'] },
    },
    {
      name: 'other whitespace is not trimmed',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7,\n10.0.0.2' },
      expect: { ip: '10.0.0.1', reason: 'invalid-entry' },
    },
    {
      name: 'duplicate header lines (array) are one list, last rightmost',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': ['6.6.6.6', '198.51.100.7, 10.0.0.2'] },
      expect: { ip: '198.51.100.7', ips: ['10.0.0.1', '10.0.0.2', '198.51.100.7'] },
    },
    {
      name: 'an empty array',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': [] },
      expect: { ip: '10.0.0.1', reason: 'end-of-chain' },
    },
    // the hop cap
    {
      name: 'maxHops stops the walk at the last address reached',
      options: { maxHops: 2 },
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, 10.0.0.4, 10.0.0.3, 10.0.0.2' },
      expect: { ip: '10.0.0.3', ips: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], hops: 2, reason: 'hop-limit' },
    },
    {
      name: 'maxHops is not reached when the client comes first',
      options: { maxHops: 2 },
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.7, 10.0.0.2' },
      expect: { ip: '198.51.100.7', reason: 'untrusted-hop' },
    },
    {
      name: 'maxHops counts entries exactly',
      options: { maxHops: 2 },
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '10.0.0.3, 10.0.0.2' },
      expect: { ip: '10.0.0.3', reason: 'end-of-chain' },
    },
    {
      name: 'maxHops: 1',
      options: { maxHops: 1, trust: true },
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': '6.6.6.6, 10.0.0.3, 10.0.0.2' },
      expect: { ip: '10.0.0.2', hops: 1, reason: 'hop-limit' },
    },
    {
      name: 'the default cap is 20 entries',
      remote: '10.0.0.1',
      headers: { 'x-forwarded-for': Array.from({ length: 30 }, (_, i) => `10.0.1.${30 - i}`).join(', ') },
      expect: { ip: '10.0.1.20', hops: 20, reason: 'hop-limit' },
    },
  ])
})

t.test('Unix-socket and missing peers', async t => {
  check(t, [
    {
      name: 'a Unix socket is not trusted by default',
      remote: undefined,
      headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https', 'host': 'app.example' },
      expect: {
        ip: undefined,
        ips: [],
        peer: undefined,
        hops: 0,
        source: 'socket',
        reason: 'no-peer',
        protocol: 'http',
        host: 'app.example',
      },
    },
    {
      name: 'trustUnixSocket reads the headers',
      options: { trustUnixSocket: true },
      remote: undefined,
      unix: true,
      headers: { 'x-forwarded-for': '198.51.100.7, 10.0.0.2', 'x-forwarded-proto': 'https' },
      expect: {
        ip: '198.51.100.7',
        ips: ['10.0.0.2', '198.51.100.7'],
        peer: undefined,
        hops: 2,
        source: 'x-forwarded-for',
        reason: 'untrusted-hop',
        protocol: 'https',
      },
    },
    {
      name: 'trustUnixSocket, no header: no address at all',
      options: { trustUnixSocket: true },
      remote: undefined,
      unix: true,
      headers: {},
      expect: { ip: undefined, ips: [], peer: undefined, hops: 0, source: 'socket', reason: 'end-of-chain' },
    },
    {
      name: 'trustUnixSocket, junk header: no address at all',
      options: { trustUnixSocket: true },
      remote: undefined,
      unix: true,
      headers: { 'x-forwarded-for': 'unknown' },
      expect: { ip: undefined, ips: [], reason: 'invalid-entry' },
    },
    {
      name: 'trustUnixSocket does not trust a socket without an address that is no Unix socket',
      options: { trustUnixSocket: true },
      remote: undefined,
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
      expect: { ip: undefined, ips: [], peer: undefined, reason: 'no-peer', protocol: 'http' },
    },
    {
      name: 'trustUnixSocket does not trust an address it cannot read',
      options: { trustUnixSocket: true },
      remote: 'not-an-address',
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
      expect: { ip: undefined, ips: [], peer: undefined, reason: 'no-peer', protocol: 'http' },
    },
    {
      name: 'an unspecified socket peer is no readable peer',
      options: { trust: true },
      remote: '0.0.0.0',
      headers: { 'x-forwarded-for': '198.51.100.7' },
      expect: { ip: undefined, ips: [], peer: undefined, hops: 0, reason: 'no-peer' },
    },
    {
      name: 'an unspecified IPv6 socket peer is no readable peer, even with trustUnixSocket',
      options: { trust: true, trustUnixSocket: true },
      remote: '::',
      headers: { 'x-forwarded-for': '198.51.100.7' },
      expect: { ip: undefined, ips: [], peer: undefined, reason: 'no-peer' },
    },
    {
      name: 'trustUnixSocket does not trust a bracketed socket address',
      options: { trustUnixSocket: true },
      remote: '[::1]:80',
      headers: { 'x-forwarded-for': '6.6.6.6' },
      expect: { ip: undefined, reason: 'no-peer' },
    },
    {
      name: 'trustUnixSocket does not make a TCP peer trusted',
      options: { trustUnixSocket: true },
      remote: '203.0.113.5',
      headers: { 'x-forwarded-for': '198.51.100.7' },
      expect: { ip: '203.0.113.5', reason: 'untrusted-peer' },
    },
  ])
  const proxy = createTrustProxy({ trust: 'loopback' })
  const noSocket = proxy.resolve({ headers: { 'x-forwarded-for': '1.1.1.1' } })
  t.same(pick(noSocket, ['ip', 'ips', 'reason', 'protocol']), {
    ip: undefined,
    ips: [],
    reason: 'no-peer',
    protocol: 'http',
  })
  const nullSocket = proxy.resolve({ headers: { 'x-forwarded-for': '1.1.1.1' }, socket: null })
  t.same(pick(nullSocket, ['ip', 'ips', 'reason']), { ip: undefined, ips: [], reason: 'no-peer' })

  // the public predicate sees no socket: a missing address may be a TCP
  // socket that reset before it was accepted, so it is never trusted there
  const unix = createTrustProxy({ trust: 'loopback', trustUnixSocket: true })
  t.equal(unix.trust(undefined as unknown as string, 0), false)
  t.equal(unix.trust(undefined as unknown as string, 1), false)
  t.equal(unix.trust(null as unknown as string, 0), false)
  t.equal(proxy.trust(undefined as unknown as string, 0), false)
})

t.test('one engine, many requests: each peer is judged on its own', async t => {
  const proxy = createTrustProxy({ trust: ['10.0.0.0/8'], trustUnixSocket: true })
  const ask = (remoteAddress: string | undefined) =>
    proxy.resolve({
      headers: { 'x-forwarded-for': '198.51.100.7' },
      socket: remoteAddress === undefined ? UNIX : { remoteAddress },
    })
  const sequence: [string | undefined, string | undefined][] = [
    ['10.0.0.1', '198.51.100.7'],
    ['10.0.0.1', '198.51.100.7'],
    ['203.0.113.5', '203.0.113.5'],
    ['203.0.113.5', '203.0.113.5'],
    ['10.0.0.1', '198.51.100.7'],
    ['::ffff:10.0.0.1', '198.51.100.7'],
    ['::ffff:203.0.113.5', '203.0.113.5'],
    ['bogus', undefined],
    ['bogus', undefined],
    [undefined, '198.51.100.7'],
    ['bogus', undefined],
    ['10.0.0.1', '198.51.100.7'],
  ]
  for (const [remote, ip] of sequence) t.equal(ask(remote).ip, ip, String(remote))

  // a trust function is asked every time: a dynamic allow-list takes effect
  const allowed = new Set<string>()
  const dynamic = createTrustProxy({ trust: address => allowed.has(address) })
  const viaDynamic = () =>
    dynamic.resolve({ headers: { 'x-forwarded-for': '198.51.100.7' }, socket: { remoteAddress: '10.0.0.1' } }).ip
  t.equal(viaDynamic(), '10.0.0.1')
  allowed.add('10.0.0.1')
  t.equal(viaDynamic(), '198.51.100.7')
  allowed.clear()
  t.equal(viaDynamic(), '10.0.0.1')
})

t.test('a link-local peer is reported without its zone and matched on every interface', async t => {
  // the zone names the interface the packet came in on, not the host: it is
  // not part of the address (RFC 4007 section 11.2), and a zoned key would
  // split one client in two for a rate limiter
  for (const trust of [['fe80::1'], 'linklocal', ['fe80::/64']]) {
    const proxy = createTrustProxy({ trust: trust as TrustProxyOptions['trust'] })
    for (const remote of ['fe80::1%eth0', 'fe80::1%eth1', 'fe80::1%4', 'fe80::1']) {
      const r = proxy.resolve({ headers: { 'x-forwarded-for': '198.51.100.7' }, socket: { remoteAddress: remote } })
      t.same(
        pick(r, ['ip', 'ips', 'peer', 'reason']),
        { ip: '198.51.100.7', ips: ['fe80::1', '198.51.100.7'], peer: 'fe80::1', reason: 'untrusted-hop' },
        `${String(trust)}: ${remote}`,
      )
    }
  }
  // untrusted: the zone is dropped from the reported ip too
  const other = createTrustProxy({ trust: 'loopback' })
  const r = other.resolve({ headers: { 'x-forwarded-for': '198.51.100.7' }, socket: { remoteAddress: 'fe80::1%eth1' } })
  t.same(pick(r, ['ip', 'ips', 'peer', 'reason']), {
    ip: 'fe80::1',
    ips: ['fe80::1'],
    peer: 'fe80::1',
    reason: 'untrusted-peer',
  })
  // a trust function gets the address without its zone
  const seen: string[] = []
  createTrustProxy({ trust: a => (seen.push(a), false) }).resolve({
    headers: {},
    socket: { remoteAddress: 'FE80::A%eth0' },
  })
  t.same(seen, ['fe80::a'])
})

const linkLocal = Object.entries(os.networkInterfaces())
  .flatMap(([name, infos]) => (infos ?? []).map(info => ({ name, ...info })))
  .find(info => info.family === 'IPv6' && info.address.startsWith('fe80:') && !info.internal)

t.test(
  'over a real link-local socket: Node reports the zone, proxy-aware drops it',
  {
    skip: linkLocal === undefined && 'no link-local IPv6 address on this machine',
  },
  async t => {
    const zoned = `${linkLocal!.address}%${linkLocal!.name}`
    const proxy = createTrustProxy({ trust: ['linklocal'] })
    let remoteAddress: string | undefined
    const server = http.createServer((req, res) => {
      remoteAddress = req.socket.remoteAddress
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(proxy.resolve(req)))
    })
    const port = await listen(t, server, zoned)
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get(
          { host: zoned, port, localAddress: zoned, family: 6, headers: { 'x-forwarded-for': '198.51.100.7' } },
          res => {
            let data = ''
            res.setEncoding('utf8')
            res.on('data', chunk => (data += chunk))
            res.on('end', () => resolve(data))
          },
        )
        .on('error', reject)
    })
    const r = JSON.parse(body) as Resolution
    t.equal(remoteAddress, zoned, 'Node reports the zone')
    t.same(pick(r, ['ip', 'peer', 'reason']), {
      ip: '198.51.100.7',
      peer: canonicalIp(linkLocal!.address),
      reason: 'untrusted-hop',
    })
  },
)

t.test('protocol from X-Forwarded-Proto', async t => {
  const p = (
    xff: string | undefined,
    xfp: string | string[] | undefined,
    expected: 'http' | 'https',
    extra: Partial<Case> = {},
  ): Case => ({
    remote: '10.0.0.1',
    headers: { 'x-forwarded-for': xff, 'x-forwarded-proto': xfp },
    ...extra,
    name: `${extra.name ?? `XFF ${JSON.stringify(xff)}, XFP ${JSON.stringify(xfp)}`}${extra.encrypted ? ' on TLS' : ''}`,
    expect: { protocol: expected, secure: expected === 'https', ...extra.expect },
  })
  check(t, [
    p('198.51.100.7', 'https', 'https'),
    p('198.51.100.7', 'http', 'http'),
    p('198.51.100.7', 'http', 'http', { encrypted: true }),
    p('198.51.100.7', undefined, 'http'),
    p('198.51.100.7', undefined, 'https', { encrypted: true }),
    // case-insensitive, trimmed
    p('198.51.100.7', 'HTTPS', 'https'),
    p('198.51.100.7', ' Https\t', 'https'),
    p('198.51.100.7', 'HTTP', 'http', { encrypted: true }),
    // junk is ignored: the socket decides
    p('198.51.100.7', 'javascript', 'http'),
    p('198.51.100.7', 'javascript', 'https', { encrypted: true }),
    p('198.51.100.7', 'httpx', 'http'),
    p('198.51.100.7', 'htt', 'http'),
    p('198.51.100.7', 'https:', 'http'),
    p('198.51.100.7', 'wss', 'http'),
    p('198.51.100.7', 'ftp', 'http'),
    p('198.51.100.7', 'hTtPs', 'https'),
    p('198.51.100.7', 'xttps', 'http'),
    p('198.51.100.7', 'hxtps', 'http'),
    p('198.51.100.7', 'htxps', 'http'),
    p('198.51.100.7', 'httxs', 'http'),
    p('198.51.100.7', 'https https', 'http'),
    p('198.51.100.7', '', 'http'),
    p('198.51.100.7', ' , ', 'http'),
    // more values than XFF entries: the rightmost (nearest proxy) wins,
    // never the client-controlled leftmost; both orders
    p('198.51.100.7', 'https, http', 'http'),
    p('198.51.100.7', 'http, https', 'https'),
    p('198.51.100.7', 'http,https', 'https'),
    p('198.51.100.7', ['http', 'https'], 'https'),
    p('6.6.6.6, 198.51.100.7, 10.0.0.2', 'https, http', 'http'),
    p('6.6.6.6, 198.51.100.7, 10.0.0.2', 'http, https', 'https'),
    p('198.51.100.7', 'http, junk', 'https', { encrypted: true }),
    // as many values as entries: still the rightmost, written by the nearest
    // proxy. Attack: an edge proxy adds "http", the nearest proxy appends to
    // XFF but passes XFP through; pairing by hop would pick the client's own
    // "https" (skipped redirect, HSTS over http)
    p('198.51.100.7, 10.0.0.2', 'https, http', 'http'),
    p('198.51.100.7, 10.0.0.2', ['https', 'http'], 'http'),
    p('198.51.100.7, 10.0.0.2', 'http, https', 'https'),
    p('198.51.100.7, 10.0.0.2', 'HTTPS,http', 'http'),
    p('6.6.6.6, 198.51.100.7, 10.0.0.2', 'http, https, http', 'http'),
    p('198.51.100.7, 10.0.0.2', 'https, junk', 'http'),
    p('198.51.100.7, 10.0.0.2', 'http, junk', 'https', { encrypted: true }),
    // protoPairing: 'hop' pairs the value with the client's entry when the
    // counts match (every proxy appends to both headers)
    ...(
      [
        ['198.51.100.7, 10.0.0.2', 'https, http', 'https'],
        ['198.51.100.7, 10.0.0.2', 'http, https', 'http'],
        ['198.51.100.7, 10.0.0.2', 'HTTPS,http', 'https'],
        ['198.51.100.7, 10.0.0.2', ['https', 'http'], 'https'],
        ['6.6.6.6, 198.51.100.7, 10.0.0.2', 'http, https, http', 'https'],
        ['6.6.6.6, 198.51.100.7, 10.0.0.2', 'https, http, https', 'http'],
        ['10.0.0.3, 10.0.0.2', 'https, http', 'https'],
        ['198.51.100.7, unknown, 10.0.0.2', 'http, http, https', 'https'],
        ['198.51.100.7, 10.0.0.2', 'junk, http', 'https', true],
        ['198.51.100.7, 10.0.0.2', 'junk, https', 'http'],
        [',198.51.100.7,, 10.0.0.2', 'https,, http', 'https'],
        // counts differ: the rightmost, as by default
        ['198.51.100.7', 'https, http', 'http'],
        ['6.6.6.6, 198.51.100.7, 10.0.0.2', 'http, https', 'https'],
        ['198.51.100.7', 'https', 'https'],
        [undefined, 'https', 'https'],
      ] as [string | undefined, string | string[], 'http' | 'https', boolean?][]
    ).map(([xff, xfp, expected, encrypted]) =>
      p(xff, xfp, expected, {
        options: { protoPairing: 'hop' },
        encrypted,
        name: `hop: XFF ${JSON.stringify(xff)}, XFP ${JSON.stringify(xfp)}`,
      }),
    ),
    p('198.51.100.7, 10.0.0.2', 'https, http', 'http', { options: { protoPairing: 'nearest' } }),
    // no usable XFF entry: the nearest proxy's word
    p(undefined, 'https', 'https'),
    p('unknown', 'https', 'https'),
    p('unknown', 'http, https', 'https'),
  ])
  // an untrusted peer's protocol header is never read, whatever its case
  check(t, [
    {
      name: 'untrusted',
      remote: '203.0.113.5',
      headers: { 'x-forwarded-proto': 'HTTPS' },
      expect: { protocol: 'http' },
    },
  ])
})

t.test('host from Host, or X-Forwarded-Host with forwardedHost', async t => {
  const h = (
    headers: Headers,
    expect: Partial<Resolution>,
    options: Partial<TrustProxyOptions> = {},
    remote = '10.0.0.1',
  ): Case => ({
    name: `${JSON.stringify(headers)} ${JSON.stringify(options)}`,
    options,
    remote,
    headers,
    expect,
  })
  const none = { host: undefined, hostname: undefined, port: null }
  const on = { forwardedHost: true }
  check(t, [
    h({ host: 'app.example' }, { host: 'app.example', hostname: 'app.example', port: null }),
    h({ host: 'App.EXAMPLE:8080' }, { host: 'app.example:8080', hostname: 'app.example', port: 8080 }),
    h({ host: 'app.example:0' }, none),
    h({ host: '.' }, none),
    h({ host: '..' }, none),
    h({ host: '.app.example' }, none),
    h({ host: 'app..example' }, none),
    h({ host: `${'a'.repeat(64)}.example` }, none),
    h(
      { host: `${'a'.repeat(63)}.example` },
      { host: `${'a'.repeat(63)}.example`, hostname: `${'a'.repeat(63)}.example`, port: null },
    ),
    h({ host: 'app.example.' }, { host: 'app.example.', hostname: 'app.example.', port: null }),
    h({ host: 'app.example:65535' }, { port: 65535 }),
    h({ host: '127.0.0.1:3000' }, { host: '127.0.0.1:3000', hostname: '127.0.0.1', port: 3000 }),
    h({ host: '[::1]:8443' }, { host: '[::1]:8443', hostname: '[::1]', port: 8443 }),
    h({ host: '[2001:DB8::1]' }, { host: '[2001:db8::1]', hostname: '[2001:db8::1]', port: null }),
    h({ host: 'my_host.example' }, { host: 'my_host.example' }),
    h({ host: 'x~y' }, { host: 'x~y' }),
    h({}, none),
    h({ host: '' }, none),
    h({ host: 'a@b.example' }, none),
    h({ host: 'user:pass@app.example' }, none),
    h({ host: 'app.example/path' }, none),
    h({ host: 'app example' }, none),
    h({ host: 'app.example\r\nx: y' }, none),
    h({ host: 'app.example:' }, none),
    h({ host: 'app.example:65536' }, none),
    h({ host: 'app.example:123456' }, none),
    h({ host: 'app.example:8x' }, none),
    h({ host: 'app.example:80:80' }, none),
    h({ host: ':80' }, none),
    h({ host: 'a'.repeat(1025) }, none),
    h({ host: `${'a'.repeat(63)}.`.repeat(16) }, { hostname: `${'a'.repeat(63)}.`.repeat(16) }),
    h({ host: `${'a'.repeat(63)}.`.repeat(17) }, none),
    h({ host: '[::1' }, none),
    h({ host: '[::1]x' }, none),
    h({ host: '[::1]:' }, none),
    h({ host: '[x]:80' }, none),
    h({ host: '[[::1]]' }, none),
    h({ host: '[fe80::1%25eth0]' }, none),
    h({ host: '[1.2.3.4]:80' }, none),
    h({ host: '[1.2.3.4]' }, none),
    h({ host: '[]' }, none),
    h({ host: '[::ffff:1.2.3.4]' }, { host: '[::ffff:1.2.3.4]', hostname: '[::ffff:1.2.3.4]', port: null }),
    h({ host: 'app.example' } as Headers, { host: 'app.example' }, {}, '203.0.113.5'),
    // HTTP/2 has :authority instead of Host
    h({ ':authority': 'h2.example:8443' }, { host: 'h2.example:8443', port: 8443 }),
    h({ 'host': 'app.example', ':authority': 'h2.example' }, { host: 'app.example' }),
    h({ host: ['a.example', 'b.example'] }, none),
    // X-Forwarded-Host is off by default
    h({ 'host': 'app.example', 'x-forwarded-host': 'evil.example' }, { host: 'app.example' }),
    // with forwardedHost: the rightmost value, validated
    h(
      { 'host': 'app.example', 'x-forwarded-host': 'public.example' },
      { host: 'public.example', hostname: 'public.example', port: null },
      on,
    ),
    h({ 'host': 'app.example', 'x-forwarded-host': 'evil.example, public.example' }, { host: 'public.example' }, on),
    h(
      { 'host': 'app.example', 'x-forwarded-host': ['evil.example', 'public.example'] },
      { host: 'public.example' },
      on,
    ),
    h(
      { 'host': 'app.example', 'x-forwarded-host': 'Public.Example:8443' },
      { host: 'public.example:8443', hostname: 'public.example', port: 8443 },
      on,
    ),
    h(
      { 'host': 'app.example', 'x-forwarded-host': '[::1]:8443' },
      { host: '[::1]:8443', hostname: '[::1]', port: 8443 },
      on,
    ),
    h({ 'host': 'app.example', 'x-forwarded-host': ' public.example\t, ' }, { host: 'public.example' }, on),
    h({ 'host': 'app.example', 'x-forwarded-host': 'evil.example/reset' }, none, on),
    h({ 'host': 'app.example', 'x-forwarded-host': 'evil.example@x' }, none, on),
    h({ 'host': 'app.example', 'x-forwarded-host': 'public.example:99999' }, none, on),
    h({ 'host': 'app.example', 'x-forwarded-host': '' }, { host: 'app.example' }, on),
    h({ 'host': 'app.example', 'x-forwarded-host': ' , ' }, { host: 'app.example' }, on),
    h({ host: 'app.example' }, { host: 'app.example' }, on),
    h({ 'x-forwarded-host': 'bad host' }, none, on),
    // an untrusted peer's X-Forwarded-Host is never read
    h({ 'host': 'app.example', 'x-forwarded-host': 'evil.example' }, { host: 'app.example' }, on, '203.0.113.5'),
    h({ 'x-forwarded-host': 'evil.example' }, none, on, '203.0.113.5'),
  ])
})

t.test('resolve caches its answer on the request', async t => {
  const proxy = createTrustProxy({ trust: 'loopback' })
  const req = { headers: { 'x-forwarded-for': '198.51.100.7' } as Headers, socket: { remoteAddress: '127.0.0.1' } }
  const first = proxy.resolve(req)
  t.equal(first.ip, '198.51.100.7')
  req.headers['x-forwarded-for'] = '198.51.100.8'
  t.equal(proxy.resolve(req), first, 'the same object')
  t.equal(proxy.resolve(req).ip, '198.51.100.7')
  // a fresh request is resolved afresh
  t.equal(proxy.resolve({ headers: { ...req.headers }, socket: req.socket }).ip, '198.51.100.8')
  // the cache is not enumerable data a serializer would pick up
  t.same(Object.keys(req), ['headers', 'socket'])
})

t.test('engines resolving one request keep their own answers', async t => {
  // an app's engine and a sub-app's, trusting different proxies
  const engines = [
    createTrustProxy({ trust: 'loopback' }),
    createTrustProxy({ trust: [] }),
    createTrustProxy({ trust: ['127.0.0.1', '10.0.0.0/8'] }),
  ]
  const req = {
    headers: { 'x-forwarded-for': '198.51.100.7, 10.1.2.3' } as Headers,
    socket: { remoteAddress: '127.0.0.1' },
  }
  const ips = ['10.1.2.3', '127.0.0.1', '198.51.100.7']
  const first = engines.map(e => e.resolve(req))
  t.same(
    first.map(r => r.ip),
    ips,
  )
  // each engine's cached answer, in any order
  for (const i of [2, 0, 1, 1, 0, 2]) t.equal(engines[i]!.resolve(req), first[i], `engine ${i}`)
  // another request: each engine again, the last one first
  const other = { headers: { ...req.headers }, socket: req.socket }
  const again = [2, 1, 0].map(i => engines[i]!.resolve(other))
  t.same(
    again.map(r => r.ip),
    [...ips].reverse(),
  )
  t.not(again[0], first[2], 'a fresh answer for a fresh request')
  t.same(Object.keys(req), ['headers', 'socket'])
})

/** Start a plain Node http server running proxy.handle and answering the resolution. */
const serve = async (t: T, options: TrustProxyOptions) => {
  const proxy = createTrustProxy(options)
  const server = http.createServer((req, res) => {
    if (proxy.handle(req, res)) return
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(proxy.resolve(req)))
  })
  return listen(t, server)
}

/** Send raw request bytes from `localAddress` and parse the JSON body. */
const raw = (port: number, localAddress: string, request: string) =>
  new Promise<Resolution>((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress })
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', chunk => (data += chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const body = data.slice(data.indexOf('\r\n\r\n') + 4)
      try {
        resolve(JSON.parse(body) as Resolution)
      } catch {
        reject(new Error(`unexpected response: ${data}`))
      }
    })
    socket.write(request)
  })

t.test('over real sockets: Node joins duplicate lines, peers by source address', async t => {
  const port = await serve(t, { trust: ['127.0.0.2'], forwardedHost: true })
  const request = [
    'GET / HTTP/1.1',
    'Host: app.example',
    'X-Forwarded-For: 6.6.6.6',
    'X-Forwarded-For: 198.51.100.7,\t127.0.0.2',
    'X-Forwarded-Proto: http',
    'X-Forwarded-Proto: HTTPS',
    'X-Forwarded-Host: evil.example',
    'X-Forwarded-Host: public.example',
    'Connection: close',
    '',
    '',
  ].join('\r\n')
  const viaProxy = await raw(port, '127.0.0.2', request)
  t.same(pick(viaProxy, ['ip', 'ips', 'peer', 'hops', 'protocol', 'host']), {
    ip: '198.51.100.7',
    ips: ['127.0.0.2', '127.0.0.2', '198.51.100.7'],
    peer: '127.0.0.2',
    hops: 2,
    protocol: 'https',
    host: 'public.example',
  })
  const direct = await raw(port, '127.0.0.3', request)
  t.same(pick(direct, ['ip', 'ips', 'peer', 'hops', 'protocol', 'host', 'reason']), {
    ip: '127.0.0.3',
    ips: ['127.0.0.3'],
    peer: '127.0.0.3',
    hops: 0,
    protocol: 'http',
    host: 'app.example',
    reason: 'untrusted-peer',
  })
})

t.test('handle runs the compiled features: first answer wins, else responders', async t => {
  // features of our own, through the real seam (src/features/feature.ts)
  const seen: string[] = []
  const features: FeatureCompiler[] = [
    {
      options: ['deny'],
      compile: options =>
        options.deny === undefined
          ? undefined
          : {
              check: ctx => {
                ctx.log.warn({ ip: ctx.resolution.ip }, 'checked')
                seen.push(`check ${ctx.resolution.ip}`)
                return ctx.resolution.ip === options.deny
                  ? { status: 403, headers: { 'content-type': 'text/plain' }, body: 'denied' }
                  : undefined
              },
            },
    },
    {
      options: ['stamp'],
      compile: options =>
        options.stamp === true
          ? {
              onResponse: ctx => {
                ctx.log.info({}, 'stamped')
                ctx.res.setHeader('x-stamp', String(ctx.resolution.protocol))
              },
            }
          : undefined,
    },
  ]
  const create = (options: TrustProxyOptions) => compileEngine(options, [], features)
  const options = { trust: ['127.0.0.2'], deny: '198.51.100.66', stamp: true } as unknown as TrustProxyOptions
  const proxy = create(options)
  t.equal(proxy.hasFeatures, true)
  t.equal(create({ trust: 'loopback' }).hasFeatures, false)
  const server = http.createServer((req, res) => {
    if (proxy.handle(req, res)) return
    res.end(`app saw ${proxy.resolve(req).ip}`)
  })
  const port = await listen(t, server)
  const send = async (method: string, xff: string) => {
    const res = await request(port, {
      from: '127.0.0.2',
      method,
      headers: { 'x-forwarded-for': xff, 'x-forwarded-proto': 'https' },
    })
    return { status: res.status, stamp: res.headers['x-stamp'], body: res.body }
  }
  t.same(await send('GET', '198.51.100.7'), { status: 200, stamp: 'https', body: 'app saw 198.51.100.7' })
  t.same(await send('GET', '198.51.100.66'), { status: 403, stamp: undefined, body: 'denied' })
  t.same(await send('HEAD', '198.51.100.66'), { status: 403, stamp: undefined, body: '' })
  t.same(seen, ['check 198.51.100.7', 'check 198.51.100.66', 'check 198.51.100.66'])
  // the features' option names are known options; others still are not
  t.throws(() => create({ trust: 'loopback', dney: 1 } as unknown as TrustProxyOptions), {
    name: 'ProxyAwareConfigError',
    message: /"dney" is not a known option/,
  })
})

t.test('protoPairing is validated at startup', async t => {
  for (const bad of ['Hop', 'aligned', '', true, null, 1]) {
    t.throws(
      () => createTrustProxy({ trust: 'loopback', protoPairing: bad } as unknown as TrustProxyOptions),
      { name: 'ProxyAwareConfigError', option: 'protoPairing', message: /"protoPairing".*'nearest' or 'hop'/ },
      JSON.stringify(bad),
    )
  }
  t.equal(createTrustProxy({ trust: 'loopback' }).options.protoPairing, 'nearest')
  t.equal(createTrustProxy({ trust: 'loopback', protoPairing: 'hop' }).options.protoPairing, 'hop')
})
