// NestJS on both platforms, over real sockets: @nestjs/platform-express
// with proxy-aware as global middleware (app.use), @nestjs/platform-fastify
// with the plugin registered on Nest's Fastify instance (app.register).
// request.ip, protocol, host, redirects, HSTS, Secure cookies and client
// certificates must behave as in plain Express and Fastify. The app runs in
// a child process (test/fixtures/nestjs-app.ts says why).
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { certs, tlsServerOptions } from './support/certs.js'
import { CLIENT, PROXY, request as direct, siteRequest as request } from './support/http.js'
import { childEnv } from './support/child-env.js'

// two Nest start-ups per platform: more than tap's default 30 s on a busy machine
t.setTimeout(240_000)

const child = fileURLToPath(new URL('./fixtures/nestjs-app.ts', import.meta.url))

/** Start the Nest app in a child; resolves to its port. */
const start = async (t: Tap, platform: string, options: object, https?: object): Promise<number> => {
  const proc = spawn(process.execPath, ['--import', 'tsx/esm', child], {
    env: childEnv({ NEST_TEST: JSON.stringify({ platform, options, https }) }),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.teardown(async () => {
    if (proc.exitCode === null) {
      proc.kill()
      await once(proc, 'exit')
    }
  })
  let out = ''
  for await (const chunk of proc.stdout) {
    out += String(chunk)
    if (out.includes('\n')) break
  }
  return (JSON.parse(out) as { port: number }).port
}
type Tap = { teardown(fn: () => unknown): void }

const https = { trust: [PROXY], httpsRedirect: { host: 'good.com' }, hsts: true, secureCookies: true }

for (const platform of ['express', 'fastify']) {
  t.test(`NestJS on ${platform}: ip, protocol, host, redirect, HSTS and Secure cookies`, async t => {
    const port = await start(t, platform, https)

    const viaProxy = await request(port, {
      from: PROXY,
      headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' },
    })
    t.equal(viaProxy.status, 200)
    t.same(JSON.parse(viaProxy.body), { ip: '198.51.100.7', protocol: 'https', host: 'good.com', cert: null })
    t.equal(viaProxy.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')

    // a client connecting directly cannot claim an address or https
    const forged = await request(port, {
      from: CLIENT,
      path: '/?a=1',
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
    })
    t.equal(forged.status, 301, 'redirected to https')
    t.equal(forged.headers.location, 'https://good.com/?a=1')
    t.equal(forged.headers['strict-transport-security'], undefined)

    const cookie = await request(port, { from: PROXY, path: '/cookie', headers: { 'x-forwarded-proto': 'https' } })
    t.same(cookie.cookies, ['sid=1; Path=/; HttpOnly; Secure'])
    const plain = await request(port, { from: PROXY, path: '/cookie', headers: { 'x-forwarded-proto': 'http' } })
    t.equal(plain.status, 301, 'http through the proxy is redirected too')
  })

  t.test(`NestJS on ${platform}: client certificates, TLS terminated in the app`, async t => {
    const c = certs()
    const tls = tlsServerOptions()
    const port = await start(
      t,
      platform,
      { trust: [], clientCert: { mode: 'optional' } },
      {
        key: tls.key,
        cert: tls.cert,
        ca: tls.ca,
        requestCert: true,
        rejectUnauthorized: false,
      },
    )
    const withCert = await direct(port, { secure: true, client: c.valid })
    t.equal(withCert.status, 200)
    t.same(JSON.parse(withCert.body), {
      ip: '127.0.0.1',
      protocol: 'https',
      host: `127.0.0.1:${port}`,
      cert: 'client-one',
    })
    const without = await direct(port, { secure: true })
    t.same(JSON.parse(without.body), { ip: '127.0.0.1', protocol: 'https', host: `127.0.0.1:${port}`, cert: null })
    const untrusted = await direct(port, { secure: true, client: c.wrongCa })
    t.same(JSON.parse(untrusted.body).cert, null, 'a certificate from another CA is not reported')
  })
}
