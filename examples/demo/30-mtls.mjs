/**
 * Demo section: client certificates (clientCert).
 *
 * Makes throwaway certificates with examples/mtls-fastify/make-certs.sh
 * (openssl), then:
 * - the Fastify example terminates mTLS itself on loopback: a valid
 *   certificate over TLS 1.2 and 1.3, none, one from another CA, and a
 *   TLS 1.3 session resumed by a client that never sent a certificate
 *   (Node reports it as authorized: nodejs/node#35317);
 * - the Express example sits behind an nginx-style proxy on 127.0.0.2 that
 *   forwards the certificate; 127.0.0.66 plays an attacker that reaches the
 *   app directly with forged certificate headers.
 *
 * Self-contained (node: modules, the built package and the two examples).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build as buildFastify } from '../mtls-fastify/server.mjs'
import { buildBehindProxy } from '../mtls-express/server.mjs'
import { ATTACKER, PROXY, printTable } from './lib.mjs'

export const title = 'Client certificates: mTLS in the app, and forwarded by a trusted proxy'

const SPIFFE = 'spiffe://example.org/ns/prod/sa/web'

/** One request; resolves to status, JSON-or-text body and whether TLS resumed. */
const send = (port, { tls, path = '/', from = '127.0.0.1', headers = {}, agent = false }) =>
  new Promise((resolve, reject) => {
    const mod = tls ? https : http
    const req = mod.request({ host: '127.0.0.1', port, path, localAddress: from, headers, agent, ...tls }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', d => {
        body += d
      })
      res.on('end', () => {
        let parsed = body.trim()
        try {
          parsed = JSON.parse(body)
        } catch {}
        resolve({ status: res.statusCode, body: parsed, resumed: tls ? res.socket.isSessionReused() : undefined })
      })
    })
    req.on('error', reject)
    req.end()
  })

export const run = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-mtls-demo-'))
  const script = fileURLToPath(new URL('../mtls-fastify/make-certs.sh', import.meta.url))
  execFileSync('sh', [script, dir], { stdio: 'ignore' })
  const read = name => readFileSync(join(dir, name), 'utf8')
  const ca = read('ca.crt')
  const client = { cert: read('client.crt'), key: read('client.key') }
  const stranger = { cert: read('stranger.crt'), key: read('stranger.key') }
  const tls = (extra = {}) => ({ ca, servername: 'localhost', ...extra })
  const escaped = encodeURIComponent(client.cert)

  const fastify = await buildFastify(dir)
  await fastify.listen({ host: '127.0.0.1', port: 0 })
  const fport = fastify.server.address().port
  const express = buildBehindProxy(PROXY)
  await new Promise(resolve => express.listen(0, '127.0.0.1', resolve))
  const eport = express.address().port

  // [app, sent by, note, request thunk, expected status, expected body check]
  const steps = [
    [
      'Fastify https',
      'client',
      'valid certificate, TLS 1.3',
      () => send(fport, { tls: tls({ ...client, maxVersion: 'TLSv1.3', minVersion: 'TLSv1.3' }) }),
      200,
      b => b.hello === SPIFFE,
    ],
    [
      'Fastify https',
      'client',
      'valid certificate, TLS 1.2',
      () => send(fport, { tls: tls({ ...client, maxVersion: 'TLSv1.2' }) }),
      200,
      b => b.hello === SPIFFE,
    ],
    ['Fastify https', 'client', 'no certificate', () => send(fport, { tls: tls() }), 403, b => b === 'Forbidden'],
    [
      'Fastify https',
      'client',
      'certificate from another CA',
      () => send(fport, { tls: tls(stranger) }),
      403,
      b => b === 'Forbidden',
    ],
    [
      'Fastify https',
      'client',
      'TLS 1.3 session resumed without\nany certificate (Node says authorized)',
      async () => {
        const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 10 })
        let res
        for (let i = 0; i < 20; i++) {
          res = await send(fport, { tls: tls({ minVersion: 'TLSv1.3' }), agent })
          if (res.resumed) break
        }
        agent.destroy()
        if (!res.resumed) throw new Error('the TLS session was never resumed')
        return res
      },
      403,
      b => b === 'Forbidden',
    ],
    [
      'Fastify https',
      'client',
      '/healthz (route: clientCert false)',
      () => send(fport, { tls: tls(), path: '/healthz' }),
      200,
      b => b === 'ok',
    ],
    [
      'Express http',
      `proxy ${PROXY}`,
      'nginx forwards a verified certificate\nGET /admin',
      () =>
        send(eport, {
          from: PROXY,
          path: '/admin',
          headers: { 'x-ssl-client-cert': escaped, 'x-ssl-client-verify': 'SUCCESS' },
        }),
      200,
      b => b.admin === 'web',
    ],
    [
      'Express http',
      `proxy ${PROXY}`,
      'nginx: FAILED:certificate has expired\nGET /admin',
      () =>
        send(eport, {
          from: PROXY,
          path: '/admin',
          headers: { 'x-ssl-client-cert': escaped, 'x-ssl-client-verify': 'FAILED:certificate has expired' },
        }),
      403,
      b => b === 'Forbidden',
    ],
    [
      'Express http',
      `attacker ${ATTACKER}`,
      'forged X-SSL-Client-Cert + SUCCESS\nGET /admin',
      () =>
        send(eport, {
          from: ATTACKER,
          path: '/admin',
          headers: { 'x-ssl-client-cert': escaped, 'x-ssl-client-verify': 'SUCCESS' },
        }),
      403,
      b => b === 'Forbidden',
    ],
    [
      'Express http',
      `attacker ${ATTACKER}`,
      'same forgery, GET / (optional):\nheaders deleted, no certificate',
      () =>
        send(eport, { from: ATTACKER, headers: { 'x-ssl-client-cert': escaped, 'x-ssl-client-verify': 'SUCCESS' } }),
      200,
      b => b.client === null && b.reason === 'missing',
    ],
  ]

  const rows = []
  const failures = []
  try {
    for (const [i, [app, by, note, go, status, check]] of steps.entries()) {
      const res = await go()
      const ok = res.status === status && check(res.body)
      if (!ok)
        failures.push(
          `#${i + 1} ${note.replace(/\n/g, ' ')}: got ${res.status} ${JSON.stringify(res.body)}, expected ${status}`,
        )
      const short = (k, v) => (typeof v === 'string' && v.length > 44 ? `${v.slice(0, 20)}…${v.slice(-20)}` : v)
      const shown = typeof res.body === 'string' ? res.body : JSON.stringify(res.body, short).replace(/,"/g, ',\n"')
      rows.push([String(i + 1), app, by, note, `${res.status}\n${shown}`, ok ? 'ok' : 'UNEXPECTED'])
    }
  } finally {
    await fastify.close()
    await new Promise(resolve => express.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  }
  printTable(['#', 'app', 'sent by', 'request', 'response', 'check'], rows)
  if (failures.length > 0) throw new Error(`mtls: ${failures.length} unexpected result(s):\n  ${failures.join('\n  ')}`)
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await run()
