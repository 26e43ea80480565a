// Real nginx and HAProxy terminate mTLS in front of the app and forward the
// certificate (`clientCert.forwarded`). The client talks TLS to the proxy
// from 127.0.0.5; the proxy reaches the app from 127.0.0.1, the only trusted
// address; 127.0.0.66 plays an attacker that reaches the app directly.
// Outside CI a missing proxy binary skips its test; in CI it fails (.ci/run
// installs nginx-light and haproxy).
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { freePort, need, nginxConf, proxyDir, startProxy } from './support/proxies.js'
import { clientCertErrorOf, clientCertOf, type ClientCertPolicy, createTrustProxy } from '../src/index.js'
import { certs, type Pair } from './support/certs.js'
import { listen, request } from './support/http.js'

type T = Test
const c = certs()

/** The app: trusts 127.0.0.1 only, certificates optional so the reason shows. */
const startApp = async (t: T, clientCert: ClientCertPolicy) => {
  const proxy = createTrustProxy({ trust: '127.0.0.1', clientCert: { mode: 'optional', ...clientCert } })
  const srv = http.createServer((req, res) => {
    if (proxy.handle(req, res)) return
    res.setHeader('content-type', 'application/json')
    res.end(
      JSON.stringify({ cn: clientCertOf(req)?.commonNames[0] ?? null, reason: clientCertErrorOf(req)?.reason ?? null }),
    )
  })
  const port = await listen(t, srv)
  return port
}

// [client certificate, expected common name, expected reason]
const table: [string, Pair | undefined, string | null, string | null][] = [
  ['valid', c.valid, 'client-one', null],
  ['no certificate', undefined, null, 'missing'],
  ['expired', c.expired, null, 'expired'],
  ['another CA', c.wrongCa, null, 'untrusted'],
  ['revoked (CRL)', c.revoked, null, 'revoked'],
]

const forged = (p: Pair, verify: string) => ({
  'x-ssl-client-cert': encodeURIComponent(p.cert),
  'x-ssl-client-verify': verify,
})

t.test('nginx terminates mTLS ($ssl_client_escaped_cert, $ssl_client_verify)', async t => {
  const nginx = need(t, 'nginx')
  if (!nginx) return
  const dir = proxyDir(t)
  const appPort = await startApp(t, { forwarded: { source: 'nginx' } })
  const port = await freePort()
  writeFileSync(
    join(dir, 'nginx.conf'),
    nginxConf(
      dir,
      `
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/server.pem;
    ssl_certificate_key ${dir}/server.key;
    ssl_client_certificate ${dir}/ca.pem;
    ssl_crl ${dir}/crl.pem;
    ssl_verify_depth 3;
    # pass failures on to the app, which answers with the precise reason
    ssl_verify_client optional_no_ca;
    location / {
      proxy_pass http://127.0.0.1:${appPort};
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
      proxy_set_header X-SSL-Client-Verify $ssl_client_verify;
    }
  }
`,
    ),
  )
  await startProxy(t, nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', 'stderr'], [port])
  for (const [name, client, cn, reason] of table) {
    const res = await request(port, { secure: true, client, from: '127.0.0.5' })
    if (reason === 'expired' || reason === 'revoked') {
      // optional_no_ca passes only issuer errors on: nginx refuses these itself
      t.equal(res.status, 400, `nginx itself refuses: ${name}`)
      t.match(res.body, 'SSL certificate error', `nginx itself refuses: ${name}`)
    } else {
      t.same(JSON.parse(res.body), { cn, reason }, `through nginx: ${name}`)
    }
  }
  const spoof = await request(port, { secure: true, from: '127.0.0.5', headers: forged(c.valid, 'SUCCESS') })
  t.same(JSON.parse(spoof.body), { cn: null, reason: 'missing' }, 'nginx replaced the headers a client sent')
  const direct = await request(appPort, { from: '127.0.0.66', headers: forged(c.valid, 'SUCCESS') })
  t.same(JSON.parse(direct.body), { cn: null, reason: 'missing' }, "a direct attacker's headers are ignored")
})

t.test('HAProxy terminates mTLS (ssl_c_der,base64 and ssl_c_verify)', async t => {
  const haproxy = need(t, 'haproxy')
  if (!haproxy) return
  const dir = proxyDir(t)
  const appPort = await startApp(t, { forwarded: { source: 'haproxy' } })
  const port = await freePort()
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `
global
  maxconn 64
defaults
  mode http
  timeout connect 5s
  timeout client 5s
  timeout server 5s
frontend tls
  # verify optional, and pass verification errors on to the app
  bind 127.0.0.1:${port} ssl crt ${dir}/both.pem ca-file ${dir}/ca.pem crl-file ${dir}/crl.pem verify optional ca-ignore-err all crt-ignore-err all
  http-request set-header X-SSL-Client-Cert %[ssl_c_der,base64]
  http-request set-header X-SSL-Client-Verify %[ssl_c_verify]
  default_backend app
backend app
  server app 127.0.0.1:${appPort}
`,
  )
  await startProxy(t, haproxy, ['-f', join(dir, 'haproxy.cfg'), '-db'], [port])
  for (const [name, client, cn, reason] of table) {
    const res = await request(port, { secure: true, client, from: '127.0.0.5' })
    t.same(JSON.parse(res.body), { cn, reason }, `through HAProxy: ${name}`)
  }
  const spoof = await request(port, {
    secure: true,
    from: '127.0.0.5',
    headers: { 'x-ssl-client-cert': Buffer.from('x').toString('base64'), 'x-ssl-client-verify': '0' },
  })
  t.same(JSON.parse(spoof.body), { cn: null, reason: 'missing' }, 'HAProxy replaced the headers a client sent')
})
