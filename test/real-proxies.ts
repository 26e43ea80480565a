// End-to-end through real reverse proxies (Debian's nginx and HAProxy, which
// .ci/run installs): a client on 127.0.0.5 talks to the proxy, the proxy to
// a Fastify app that trusts only the proxy's address. Outside CI a missing
// proxy binary skips its test; in CI it fails.
import t, { type Test } from 'tap'
import { freePort, need, nginxConf, proxyDir, startProxy } from './support/proxies.js'
import Fastify from 'fastify'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { trustProxy } from '../src/fastify.js'
import { portOf, request } from './support/http.js'

interface Seen { ip: string, ips: string[], protocol: string, host: string, reason: string }

const get = async (port: number, headers: Record<string, string>, opts: { localAddress: string, tls?: boolean }) => {
  const r = await request(port, { path: '/whoami', headers, from: opts.localAddress, secure: opts.tls === true })
  if (r.status !== 200) throw new Error(`${r.status} ${r.body}`)
  return r.json as Seen
}

const startApp = async (t: Test) => {
  const app = Fastify()
  // only the proxy (which connects from 127.0.0.1) is trusted
  await app.register(trustProxy, { trust: '127.0.0.1' })
  app.get('/whoami', req => ({
    ip: req.ip, ips: req.ips, protocol: req.protocol, host: req.host, reason: req.proxyAware.reason,
  }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return portOf(app.server)
}

t.test('nginx: appends with $proxy_add_x_forwarded_for and sets X-Forwarded-Proto', async t => {
  const nginx = need(t, 'nginx')
  if (!nginx) return
  const dir = proxyDir(t)
  const appPort = await startApp(t)
  const httpPort = await freePort()
  const tlsPort = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, `
  server {
    listen 127.0.0.1:${httpPort};
    listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${dir}/server.pem;
    ssl_certificate_key ${dir}/server.key;
    location / {
      proxy_pass http://127.0.0.1:${appPort};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
`))
  await startProxy(t, nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', 'stderr'], [httpPort, tlsPort])

  const plain = await get(httpPort, {}, { localAddress: '127.0.0.5' })
  t.match(plain, { ip: '127.0.0.5', protocol: 'http', reason: 'untrusted-hop' }, 'client seen through nginx')
  t.same(plain.ips, ['127.0.0.1', '127.0.0.5'])

  const spoofed = await get(httpPort, { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' }, { localAddress: '127.0.0.5' })
  t.equal(spoofed.ip, '127.0.0.5', 'a forged X-Forwarded-For is appended to, and never reached')
  t.equal(spoofed.protocol, 'http', 'nginx overwrote the forged X-Forwarded-Proto')

  const tls = await get(tlsPort, { 'x-forwarded-for': '6.6.6.6' }, { localAddress: '127.0.0.6', tls: true })
  t.match(tls, { ip: '127.0.0.6', protocol: 'https' }, 'TLS terminated by nginx is reported as https')

  const direct = await get(appPort, { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' }, { localAddress: '127.0.0.66' })
  t.match(direct, { ip: '127.0.0.66', protocol: 'http', reason: 'untrusted-peer' }, 'a direct attacker is not believed')
})

t.test('HAProxy: option forwardfor adds its own header line', async t => {
  const haproxy = need(t, 'haproxy')
  if (!haproxy) return
  const dir = proxyDir(t)
  const appPort = await startApp(t)
  const httpPort = await freePort()
  const tlsPort = await freePort()
  writeFileSync(join(dir, 'haproxy.cfg'), `
global
  maxconn 64
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend web
  bind 127.0.0.1:${httpPort}
  bind 127.0.0.1:${tlsPort} ssl crt ${dir}/both.pem
  option forwardfor
  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
  default_backend app
backend app
  server app1 127.0.0.1:${appPort}
`)
  await startProxy(t, haproxy, ['-db', '-f', join(dir, 'haproxy.cfg')], [httpPort, tlsPort])

  const spoofed = await get(httpPort, { 'x-forwarded-for': '6.6.6.6, 10.0.0.1', 'x-forwarded-proto': 'https' }, { localAddress: '127.0.0.7' })
  t.match(spoofed, { ip: '127.0.0.7', protocol: 'http' }, 'HAProxy\'s own X-Forwarded-For line is rightmost')
  t.same(spoofed.ips, ['127.0.0.1', '127.0.0.7'])

  const tls = await get(tlsPort, {}, { localAddress: '127.0.0.8', tls: true })
  t.match(tls, { ip: '127.0.0.8', protocol: 'https' }, 'TLS terminated by HAProxy is reported as https')
})
