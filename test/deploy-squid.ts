// docs/deployments/squid/squid.conf, started as written, in front of the
// Fastify and Express apps (test/fixtures/deployments.ts); and what Squid
// does with a client's forwarding headers by default.
import t from 'tap'
import {
  certFiles,
  forgedThrough,
  hasIpv6Loopback,
  recipe,
  recipeHeaders,
  scenarios,
  startApps,
  withoutIpv6,
} from './fixtures/deployments.js'
import { freePort, need, startSquid } from './support/proxies.js'

const squid = need(t, 'squid')
const ipv6 = await hasIpv6Loopback()

if (squid !== undefined) {
  await t.test('TLS termination (squid/squid.conf)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const app = await startApps(t, { tlsPort: tls })
    const f = certFiles(t)
    const conf = recipe('squid/squid.conf', { ...f, APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls })
    await startSquid(t, f.dir, withoutIpv6(conf, ipv6), [http, tls])
    // Squid speaks no HTTP/2
    await scenarios(t, 'Squid', { http, tls, app }, { ipv6, h2: false })
    await recipeHeaders(t, 'Squid', { http, tls, app })
  })

  await t.test('Squid by default passes a client X-Forwarded-Proto on', async t => {
    const http = await freePort()
    const app = await startApps(t, { tlsPort: 1 })
    const f = certFiles(t)
    const site = `http_port 127.0.0.1:${http} accel defaultsite=localhost vhost
cache_peer 127.0.0.1 parent ${app} 0 no-query originserver name=app
http_access allow all
`
    await startSquid(t, f.dir, site, [http])
    const { seen, headers } = await forgedThrough(http, false)
    t.equal(headers['x-forwarded-proto'], 'https', "the client's X-Forwarded-Proto reaches the app")
    t.equal(headers.forwarded, 'for=6.6.6.6;proto=https;host=evil.example', 'and its Forwarded')
    t.equal(headers['x-forwarded-host'], 'evil.example', 'and its X-Forwarded-Host')
    t.equal(headers['x-forwarded-for'], '6.6.6.6, 127.0.0.5', 'X-Forwarded-For is appended to')
    t.match(seen, { ip: '127.0.0.5', protocol: 'https' }, 'over plain http, the app believes https')
  })
}
