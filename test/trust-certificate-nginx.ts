// A real nginx re-encrypts to the https app (proxy_pass https://) and proves
// who it is with its client certificate (proxy_ssl_certificate); it
// verifies the app in turn (proxy_ssl_verify on). The app trusts no
// address, only nginx's certificate: it believes nginx's X-Forwarded-For,
// and refuses the same header sent straight to it from nginx's own address
// (127.0.0.1) by a client with another certificate of the same CA, or none.
// A second nginx server block presents that other certificate: not believed.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Fastify from 'fastify'
import t from 'tap'
import trustProxy from '../src/fastify.js'
import { certs } from './support/certs.js'
import { request } from './support/http.js'
import { freePort, need, nginxConf, proxyDir, startProxy } from './support/proxies.js'

const c = certs()

t.test('nginx proxy_ssl_certificate: believed for its certificate, not its address', async t => {
  const nginx = need(t, 'nginx')
  if (!nginx) return
  const dir = proxyDir(t)
  writeFileSync(join(dir, 'proxy.pem'), c.chainOf(c.proxy))
  writeFileSync(join(dir, 'proxy.key'), c.proxy.key)
  writeFileSync(join(dir, 'other.pem'), c.chainOf(c.valid))
  writeFileSync(join(dir, 'other.key'), c.valid.key)

  const app = Fastify({
    https: { key: c.server.key, cert: c.server.cert, ca: [c.root.cert], requestCert: true, rejectUnauthorized: false },
  })
  await app.register(trustProxy, {
    trust: [],
    trustCertificate: { uri: ['spiffe://example.org/ns/edge/sa/proxy'], dns: ['proxy.example.org'] },
  })
  app.get('/', req => ({ ip: req.ip, ips: req.ips, peerIdentity: req.proxyAware.peerIdentity ?? null }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const appPort = (app.server.address() as { port: number }).port

  const [good, other] = [await freePort(), await freePort()]
  // Both blocks proxy to the same address, so nginx keeps one upstream TLS
  // session for them (proxy_ssl_session_reuse, on by default): 'other'
  // would resume the session 'proxy' made, and be the proxy for the app (a
  // resumed session is its first handshake's identity). Off for 'other'.
  const block = (port: number, cert: string) => `
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass https://127.0.0.1:${appPort};
      proxy_ssl_certificate ${dir}/${cert}.pem;
      proxy_ssl_certificate_key ${dir}/${cert}.key;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${dir}/ca.pem;
      proxy_ssl_name localhost;
      proxy_ssl_session_reuse ${cert === 'proxy' ? 'on' : 'off'};
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }`
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, block(good, 'proxy') + block(other, 'other')))
  await startProxy(t, nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', 'stderr'], [good, other])

  const viaNginx = await request(good, { from: '127.0.0.5' })
  t.same(
    viaNginx.json,
    { ip: '127.0.0.5', ips: ['127.0.0.1', '127.0.0.5'], peerIdentity: 'uri:spiffe://example.org/ns/edge/sa/proxy' },
    "nginx's X-Forwarded-For is believed because of its certificate",
  )
  const spoofed = await request(good, { from: '127.0.0.5', headers: { 'x-forwarded-for': '203.0.113.9' } })
  t.equal(spoofed.json.ip, '127.0.0.5', "a client's own X-Forwarded-For entry stays beyond the untrusted hop")

  const otherCert = await request(other, { from: '127.0.0.5' })
  t.same(otherCert.json, { ip: '127.0.0.1', ips: ['127.0.0.1'], peerIdentity: null }, 'nginx with another certificate')

  const xff = { 'x-forwarded-for': '127.0.0.5' }
  for (const [name, client] of [
    ['another certificate of the same CA', c.valid],
    ['no certificate', undefined],
  ] as const) {
    const direct = await request(appPort, { from: '127.0.0.1', secure: true, client, headers: xff })
    t.same(
      direct.json,
      { ip: '127.0.0.1', ips: ['127.0.0.1'], peerIdentity: null },
      `straight to the app from nginx's address, ${name}: refused`,
    )
  }
  const proxyCert = await request(appPort, { from: '127.0.0.1', secure: true, client: c.proxy, headers: xff })
  t.equal(proxyCert.json.ip, '127.0.0.5', "control: the proxy's certificate straight to the app is believed")
})
