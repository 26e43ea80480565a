// docs/deployments/lighttpd/lighttpd.conf, started as written, in front of
// the Fastify and Express apps (test/fixtures/deployments.ts); and what
// lighttpd's mod_proxy does with a client's forwarding headers by default.
import t from 'tap'
import {
  certFiles,
  forgedThrough,
  hasIpv6Loopback,
  recipe,
  recipeHeaders,
  scenarios,
  startApps,
} from './fixtures/deployments.js'
import { freePort, need, startLighttpd } from './support/proxies.js'

const lighttpd = need(t, 'lighttpd')
const ipv6 = await hasIpv6Loopback()

if (lighttpd !== undefined) {
  await t.test('TLS termination (lighttpd/lighttpd.conf)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const app = await startApps(t, { tlsPort: tls })
    const f = certFiles(t)
    let conf = recipe('lighttpd/lighttpd.conf', { ...f, APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls })
    if (!ipv6) conf = conf.replace(/^\$SERVER\["socket"\] == "\[::1\][^}]*\}\n/m, '')
    await startLighttpd(t, f.dir, conf, [http, tls])
    await scenarios(t, 'lighttpd', { http, tls, app }, { ipv6 })
    await recipeHeaders(t, 'lighttpd', { http, tls, app })
  })

  await t.test('lighttpd by default passes a client Forwarded on and writes X-Forwarded-Host', async t => {
    const http = await freePort()
    // an app that reads Forwarded behind it believes the client
    const app = await startApps(t, { tlsPort: 1, headers: ['forwarded'] })
    const f = certFiles(t)
    const site = `server.modules += ("mod_proxy")
server.bind = "127.0.0.1"
server.port = ${http}
proxy.server = ("" => (("host" => "127.0.0.1", "port" => ${app})))
`
    await startLighttpd(t, f.dir, site, [http])
    const { seen, headers } = await forgedThrough(http, false)
    t.equal(headers.forwarded, 'for=6.6.6.6;proto=https;host=evil.example', "the client's Forwarded reaches the app")
    t.equal(headers['x-forwarded-host'], `localhost:${http}`, "X-Forwarded-Host is written: the client's Host")
    t.equal(headers['x-host'], `localhost:${http}`, 'and X-Host')
    t.equal(headers['x-forwarded-proto'], 'http', 'X-Forwarded-Proto is overwritten')
    t.equal(headers['x-forwarded-for'], '6.6.6.6, 127.0.0.5', 'X-Forwarded-For is appended to')
    t.match(seen, { ip: '6.6.6.6', protocol: 'https' }, 'headers: [forwarded] takes the forged values')
  })
}
