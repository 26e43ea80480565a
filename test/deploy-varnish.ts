// docs/deployments/varnish/default.vcl and hitch.conf, started as written,
// in front of the Fastify and Express apps (test/fixtures/deployments.ts);
// and what Varnish does with a client's forwarding headers by default.
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
import { freePort, need, startHitch, startVarnish } from './support/proxies.js'

const varnishd = need(t, 'varnishd')
const hitch = need(t, 'hitch')
const ipv6 = await hasIpv6Loopback()

if (varnishd !== undefined && hitch !== undefined) {
  await t.test('TLS termination (varnish/default.vcl, varnish/hitch.conf)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const fromHitch = await freePort()
    const app = await startApps(t, { tlsPort: tls })
    const f = certFiles(t)
    const vars = { ...f, APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls, VARNISH_TLS_PORT: fromHitch }
    // the command line in the VCL's comment
    const listen = [`127.0.0.1:${http}`, `tls=127.0.0.1:${fromHitch},PROXY`]
    await startVarnish(
      t,
      f.dir,
      recipe('varnish/default.vcl', vars),
      listen,
      ['-p', 'feature=+http2'],
      [http, fromHitch],
    )
    await startHitch(t, f.dir, withoutIpv6(recipe('varnish/hitch.conf', vars), ipv6), [tls])
    await scenarios(t, 'Varnish', { http, tls, app }, { ipv6 })
    await recipeHeaders(t, 'Varnish', { http, tls, app })
  })

  await t.test('Varnish by default passes a client X-Forwarded-Proto on', async t => {
    const http = await freePort()
    const app = await startApps(t, { tlsPort: 1 })
    const f = certFiles(t)
    const vcl = `vcl 4.1;\nbackend app { .host = "127.0.0.1"; .port = "${app}"; }\n`
    await startVarnish(t, f.dir, vcl, [`127.0.0.1:${http}`], [], [http])
    const { seen, headers } = await forgedThrough(http, false)
    t.equal(headers['x-forwarded-proto'], 'https', "the client's X-Forwarded-Proto reaches the app")
    t.equal(headers.forwarded, 'for=6.6.6.6;proto=https;host=evil.example', 'and its Forwarded')
    t.equal(headers['x-forwarded-host'], 'evil.example', 'and its X-Forwarded-Host')
    t.equal(headers['x-forwarded-for'], '6.6.6.6, 127.0.0.5', 'X-Forwarded-For is appended to')
    t.match(seen, { ip: '127.0.0.5', protocol: 'https' }, 'over plain http, the app believes https')
  })
}
