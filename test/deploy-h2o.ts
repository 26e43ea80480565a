// docs/deployments/h2o/h2o.conf, started as written, in front of the
// Fastify and Express apps (test/fixtures/deployments.ts); and what h2o
// does with a client's forwarding headers by default.
import t from 'tap'
import {
  appWarnings,
  certFiles,
  forgedThrough,
  hasIpv6Loopback,
  recipe,
  recipeHeaders,
  scenarios,
  startApps,
} from './fixtures/deployments.js'
import { request } from './support/http.js'
import { freePort, need, startH2o } from './support/proxies.js'

const h2o = need(t, 'h2o')
const ipv6 = await hasIpv6Loopback()

if (h2o !== undefined) {
  await t.test('TLS termination (h2o/h2o.conf)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const app = await startApps(t, { tlsPort: tls })
    const f = certFiles(t)
    let conf = recipe('h2o/h2o.conf', { ...f, APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls })
    if (!ipv6) conf = conf.replace(/ {4}listen:\n {6}host: "::1"\n.*\n.*\n/, '')
    await startH2o(t, f.dir, conf, [http, tls])
    await scenarios(t, 'h2o', { http, tls, app }, { ipv6 })
    await recipeHeaders(t, 'h2o', { http, tls, app })
  })

  await t.test('h2o by default passes a client Forwarded and X-Forwarded-Host on', async t => {
    const http = await freePort()
    // an app that reads Forwarded behind it believes the client
    const app = await startApps(t, { tlsPort: 1, headers: ['forwarded'] })
    const f = certFiles(t)
    const hosts = `hosts:
  "localhost":
    listen: { host: 127.0.0.1, port: ${http} }
    paths:
      "/":
        proxy.reverse.url: http://127.0.0.1:${app}/
`
    await startH2o(t, f.dir, hosts, [http])
    const { seen, headers } = await forgedThrough(http, false)
    t.equal(headers.forwarded, 'for=6.6.6.6;proto=https;host=evil.example', "the client's Forwarded reaches the app")
    t.equal(headers['x-forwarded-host'], 'evil.example', "and the client's X-Forwarded-Host")
    t.equal(headers['x-forwarded-proto'], 'http', 'X-Forwarded-Proto is overwritten')
    t.equal(headers['x-forwarded-for'], '6.6.6.6, 127.0.0.5', 'X-Forwarded-For is appended to')
    t.equal(headers.host, `127.0.0.1:${app}`, "Host is the app's address unless proxy.preserve-host: ON")
    t.match(seen, { ip: '6.6.6.6', protocol: 'https' }, 'headers: [forwarded] takes the forged values')
    // and without a forged one, it finds no Forwarded at all (docs/deployments.md, Troubleshooting)
    const plain = await request(http, { path: '/fastify/whoami', from: '127.0.0.5', headers: { host: 'localhost' } })
    t.match(
      JSON.parse(plain.body),
      { ip: '127.0.0.1', reason: 'end-of-chain' },
      "no client Forwarded: the proxy's own address, end-of-chain",
    )
    t.ok(appWarnings.includes('PROXY_AWARE_HEADER_MISMATCH'), 'and the app warns: read the header the proxy writes')
  })
}
