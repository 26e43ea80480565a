/**
 * Demo section: whose X-Forwarded-* / Forwarded headers are believed.
 *
 * The example Fastify app (examples/fastify.mjs) trusts 127.0.0.2 (our
 * "proxy") and the private uniquelocal ranges (10/8, 172.16/12, 192.168/16,
 * fc00::/7, standing in for internal load balancers), NOT all of loopback:
 * 127.0.0.66 plays an attacker that reaches the app directly. The same
 * requests then go to the Express and plain-http examples, which must give
 * the same answers.
 */
import { ATTACKER, Expectations, headerLines, printTable, PROXY, send } from './lib.mjs'
import { build as buildFastify } from '../fastify.mjs'
import { build as buildExpress } from '../express.mjs'
import { build as buildHttp } from '../http.mjs'
import { once } from 'node:events'
import http from 'node:http'

export const title = 'Trust: who is believed, and why'

const OPTIONS = {
  trust: ['127.0.0.2', 'uniquelocal'],
  headers: ['x-forwarded', 'forwarded'],
  forwardedHost: true,
}

/**
 * The script. `want` is written out by hand for each request: what
 * proxy-aware must decide. `host: null` means "the Host header as sent",
 * `NONE` that no host is reported (Fastify's `request.host` is then `''`,
 * Express's `req.host` undefined).
 */
const NONE = '(none)'

/** The app's answer, with "no host" spelled the same for every framework. */
const answer = res => ({ status: res.status, ...res.body, host: res.body?.host || NONE })

const SCRIPT = [
  {
    note: 'client behind our proxy',
    from: PROXY,
    headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' },
    want: { ip: '203.0.113.7', protocol: 'https', host: 'shop.example', reason: 'untrusted-hop', hops: 1 },
  },
  {
    note: 'through an internal load balancer, then our proxy',
    from: PROXY,
    headers: { 'x-forwarded-for': '203.0.113.7, 10.1.2.3', 'x-forwarded-proto': 'https' },
    want: { ip: '203.0.113.7', protocol: 'https', host: null, reason: 'untrusted-hop', hops: 2 },
  },
  {
    note: 'client forged X-Forwarded-For; the proxy appended the real address',
    from: PROXY,
    headers: { 'x-forwarded-for': '10.0.0.1, 198.51.100.23, 203.0.113.7' },
    want: { ip: '203.0.113.7', protocol: 'http', host: null, reason: 'untrusted-hop', hops: 1 },
  },
  {
    note: 'every entry is trusted: the leftmost is the client',
    from: PROXY,
    headers: { 'x-forwarded-for': '192.168.1.20, 10.1.2.3' },
    want: { ip: '192.168.1.20', protocol: 'http', host: null, reason: 'end-of-chain', hops: 2 },
  },
  {
    note: 'junk entry: stop at the last address reached, never skip past it',
    from: PROXY,
    headers: { 'x-forwarded-for': '203.0.113.7, unknown, 10.1.2.3' },
    want: { ip: '10.1.2.3', protocol: 'http', host: null, reason: 'invalid-entry', hops: 1 },
  },
  {
    note: 'octal-looking IPv4 is not an IP (ipaddr.js would read 8.0.0.1)',
    from: PROXY,
    headers: { 'x-forwarded-for': '010.0.0.1' },
    want: { ip: PROXY, protocol: 'http', host: null, reason: 'invalid-entry', hops: 0 },
  },
  {
    note: 'IPv6 with port and upper case: canonical form',
    from: PROXY,
    headers: { 'x-forwarded-for': '[2001:DB8:0:0::7]:4711' },
    want: { ip: '2001:db8::7', protocol: 'http', host: null, reason: 'untrusted-hop', hops: 1 },
  },
  {
    note: 'IPv4-mapped IPv6 is reported as IPv4',
    from: PROXY,
    headers: { 'x-forwarded-for': '::ffff:203.0.113.9' },
    want: { ip: '203.0.113.9', protocol: 'http', host: null, reason: 'untrusted-hop', hops: 1 },
  },
  {
    note: "protocol: rightmost value (from our proxy), not the client's",
    from: PROXY,
    headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https, http' },
    want: { ip: '203.0.113.7', protocol: 'http', host: null, reason: 'untrusted-hop', hops: 1 },
  },
  {
    note: 'client forged X-Forwarded-Proto, an edge proxy added "http",\nour proxy passed both through: the rightmost wins',
    from: PROXY,
    headers: { 'x-forwarded-for': '203.0.113.7, 10.1.2.3', 'x-forwarded-proto': ['https', 'http'] },
    want: { ip: '203.0.113.7', protocol: 'http', host: null, reason: 'untrusted-hop', hops: 2 },
  },
  {
    note: 'malformed X-Forwarded-Host: no host at all (not a fallback to Host)',
    from: PROXY,
    headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-host': 'evil.example/reset?x=' },
    want: { ip: '203.0.113.7', protocol: 'http', host: NONE, reason: 'untrusted-hop', hops: 1 },
  },
  {
    note: 'RFC 7239 Forwarded from our proxy',
    from: PROXY,
    headers: { forwarded: 'for="[2001:db8::9]:443";proto=https;host=api.example' },
    want: { ip: '2001:db8::9', protocol: 'https', host: 'api.example', reason: 'untrusted-hop', hops: 1 },
  },
  {
    note: 'client sent an unbalanced quote in Forwarded; our proxy appended its element: still read',
    from: PROXY,
    headers: { forwarded: 'for=1.1.1.1;x=", for=203.0.113.7;proto=https' },
    want: { ip: '203.0.113.7', protocol: 'https', host: null, reason: 'untrusted-hop', hops: 1 },
  },
  {
    note: 'the same as a second Forwarded line, with an unquoted IPv6 address',
    from: PROXY,
    headers: { forwarded: ['for="', 'for=2001:db8::9;proto=https'] },
    want: { ip: '2001:db8::9', protocol: 'https', host: null, reason: 'untrusted-hop', hops: 1 },
  },
  {
    note: 'Forwarded host= unquoted with a port breaks the grammar: no host (not a fallback to Host)',
    from: PROXY,
    headers: { forwarded: 'for=203.0.113.7;host=shop.example:8443' },
    want: { ip: PROXY, protocol: 'http', host: NONE, reason: 'invalid-entry', hops: 0 },
  },
  {
    note: 'attacker talks to the app directly: no forwarded header is read',
    from: ATTACKER,
    headers: { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' },
    want: { ip: ATTACKER, protocol: 'http', host: null, reason: 'untrusted-peer', hops: 0 },
  },
  {
    note: 'attacker claims to be our proxy',
    from: ATTACKER,
    headers: { 'x-forwarded-for': '127.0.0.2', 'forwarded': 'for=10.0.0.1;proto=https' },
    want: { ip: ATTACKER, protocol: 'http', host: null, reason: 'untrusted-peer', hops: 0 },
  },
]

/** Start a server on loopback port 0; returns its base URL and a close function. */
const listen = async server => {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () =>
      new Promise(resolve => {
        server.closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
}

const who = from => (from === PROXY ? `proxy\n${from}` : `attacker\n${from}`)

/** Send the script to one app; returns the responses. */
const play = async url => {
  const out = []
  for (const step of SCRIPT) out.push(await send(url, { from: step.from, headers: step.headers }))
  return out
}

export const run = async () => {
  const expect = new Expectations()
  const fastify = await buildFastify(OPTIONS)
  const fastifyUrl = await fastify.listen({ host: '127.0.0.1', port: 0 })
  const hostHeader = new URL(fastifyUrl).host
  console.log(`Fastify example on ${fastifyUrl}, options ${JSON.stringify(OPTIONS)}\n`)
  let responses
  try {
    responses = await play(`${fastifyUrl}/`)
  } finally {
    await fastify.close()
  }
  const rows = SCRIPT.map((step, i) => {
    const res = responses[i]
    const want = { ...step.want, host: step.want.host ?? hostHeader }
    const b = answer(res)
    const mark = expect.check(`#${i + 1} ${step.note}`, b, { status: 200, ...want })
    return [
      String(i + 1),
      who(step.from),
      `${step.note}\n${headerLines(step.headers)}`,
      `${b.ip}\n${b.protocol}\n${b.host}`,
      `${b.reason}\nhops: ${b.hops}\nfrom: ${b.source}`,
      mark,
    ]
  })
  printTable(['#', 'sent by', 'request headers', 'ip / protocol / host', 'why', 'check'], rows)

  // The same script through the Express and plain-http examples.
  for (const [name, server] of [
    ['express.mjs', http.createServer(buildExpress(OPTIONS))],
    ['http.mjs', buildHttp(OPTIONS)],
  ]) {
    const { url, close } = await listen(server)
    let others
    try {
      others = await play(url)
    } finally {
      await close()
    }
    const port = new URL(url).host
    let same = 0
    others.forEach((res, i) => {
      const want = { ...SCRIPT[i].want, host: SCRIPT[i].want.host ?? port }
      if (expect.check(`${name} #${i + 1}`, answer(res), { status: 200, ...want }) === 'ok') same++
    })
    console.log(`${name}: ${same} of ${SCRIPT.length} requests decided as above`)
  }
  expect.assertAll('trust')
}
