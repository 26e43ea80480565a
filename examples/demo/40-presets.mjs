/**
 * Demo section: vendor presets, and `explain` for a misconfigured setup.
 *
 * An app behind its own nginx (127.0.0.2) behind a CDN or a cloud load
 * balancer. nginx appends the address it saw (the vendor's) to
 * X-Forwarded-For, so the vendor's documented header shape arrives with one
 * more entry on the right:
 * - Cloudflare appends the visitor's address to X-Forwarded-For
 *   (developers.cloudflare.com/fundamentals/reference/http-headers/);
 * - Google's load balancer writes "<unverified IP(s)>, <immediate client
 *   IP>, <global forwarding rule external IP>" and connects from its Google
 *   Front End ranges (cloud.google.com/load-balancing/docs/https#x-forwarded-for_header,
 *   as quoted in data/presets/gcp-lb.json).
 * Then the same GCP request through a setup that forgot the forwarding rule
 * (trusting the GFE ranges by address instead of the preset), with the
 * trail that `explain` prints for it — also `npx proxy-aware explain`.
 */
import { once } from 'node:events'
import http from 'node:http'
import { createTrustProxy, formatExplanation } from '../../dist/esm/index.js'
import { Expectations, headerLines, printTable, PROXY, send } from './lib.mjs'

export const title = 'Presets: Cloudflare and Google Cloud in one word, and explain for a wrong setup'

const VISITOR = '203.0.113.7'
const CLOUDFLARE_EDGE = '173.245.48.5' // in Cloudflare's 173.245.48.0/20
const FORWARDING_RULE = '34.120.0.10' // the load balancer's external IP (an example)
const GFE = '35.191.0.7' // in Google's 35.191.0.0/16

const SETUPS = [
  {
    name: 'cloudflare',
    options: { trust: [PROXY, 'cloudflare'] },
    headers: { 'x-forwarded-for': `6.6.6.6, ${VISITOR}, ${CLOUDFLARE_EDGE}`, 'x-forwarded-proto': 'https' },
    want: { ip: VISITOR, protocol: 'https', reason: 'untrusted-hop', hops: 2 },
  },
  {
    name: 'gcp-lb',
    options: { trust: [PROXY, 'gcp-lb'], gcpForwardingRule: FORWARDING_RULE },
    headers: { 'x-forwarded-for': `6.6.6.6, ${VISITOR}, ${FORWARDING_RULE}, ${GFE}`, 'x-forwarded-proto': 'https' },
    want: { ip: VISITOR, protocol: 'https', reason: 'untrusted-hop', hops: 3 },
  },
  {
    name: 'GCP, forwarding rule forgotten',
    options: { trust: [PROXY, '35.191.0.0/16', '130.211.0.0/22'] },
    headers: { 'x-forwarded-for': `6.6.6.6, ${VISITOR}, ${FORWARDING_RULE}, ${GFE}`, 'x-forwarded-proto': 'https' },
    // every visitor gets the load balancer's address: the mistake explain shows
    want: { ip: FORWARDING_RULE, protocol: 'https', reason: 'untrusted-hop', hops: 2 },
  },
]

/** A plain node:http app on loopback that answers with its decision. */
const start = async options => {
  const proxy = createTrustProxy(options)
  const server = http.createServer((req, res) => {
    const { ip, protocol, reason, hops } = proxy.resolve(req)
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ ip, protocol, reason, hops, explained: formatExplanation(proxy.explain(req)) }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

export async function run() {
  const expect = new Expectations()
  const rows = []
  let wrongTrail
  for (const setup of SETUPS) {
    const server = await start(setup.options)
    try {
      const res = await send(`http://127.0.0.1:${server.address().port}/`, { from: PROXY, headers: setup.headers })
      const { explained, ...decision } = res.body
      rows.push([
        setup.name,
        JSON.stringify(setup.options),
        headerLines(setup.headers),
        `${decision.ip} / ${decision.protocol}`,
        expect.check(setup.name, decision, setup.want),
      ])
      if (setup.name.includes('forgotten')) wrongTrail = explained
    } finally {
      server.close()
    }
  }
  printTable(['setup', 'options', 'request headers (from our nginx)', 'ip / protocol', 'check'], rows)
  console.log(`\nWhy the third setup reports ${FORWARDING_RULE} for every visitor (proxy.explain(req)):\n`)
  console.log(wrongTrail.replace(/^/gm, '  '))
  if (!wrongTrail.includes(`hop 2  ${FORWARDING_RULE}`) || !/not trusted {2}<- client/.test(wrongTrail)) {
    expect.failures.push('the trail does not show the forwarding rule as the untrusted client')
  }
  console.log(
    `\nThe fix: trust: ['gcp-lb'] with gcpForwardingRule: '${FORWARDING_RULE}' (the second row). The same trail from a shell:`,
  )
  console.log(
    `  npx proxy-aware explain --trust ${PROXY} --trust 35.191.0.0/16 --peer ${PROXY} -H 'X-Forwarded-For: ${SETUPS[2].headers['x-forwarded-for']}'`,
  )
  expect.assertAll('presets')
}
