/**
 * Demo section: HTTPS enforcement (httpsRedirect, hsts, secureCookies).
 *
 * A Fastify app trusts 127.0.0.2 (our TLS-terminating "proxy") and nothing
 * else; 127.0.0.66 plays an attacker that reaches the app directly. The
 * script shows a safe redirect, forged hosts refused with 400 (never a
 * redirect elsewhere), a forged X-Forwarded-Proto that does not skip the
 * redirect (sent directly, or passed through by a proxy that appends only
 * X-Forwarded-For), and a session cookie made Secure (plus HSTS) behind the proxy.
 *
 * Self-contained on purpose (only node: modules and the built package), so
 * it runs with `node examples/demo.mjs https` or on its own.
 */
import Fastify from 'fastify'
import net from 'node:net'
import { pathToFileURL } from 'node:url'
import trustProxy from '../../dist/esm/fastify.js'
import { ATTACKER, PROXY, printTable } from './lib.mjs'

export const title = 'HTTPS enforcement: redirect, forged hosts, Secure cookies'

const OPTIONS = {
  trust: [PROXY],
  httpsRedirect: { allowedHosts: ['shop.example', '*.shop.example'], exempt: ['/healthz'] },
  hsts: true,
  secureCookies: true,
}

/**
 * The script: raw request heads (so two Host lines can be sent), and what
 * must come back, written out by hand.
 */
const SCRIPT = [
  {
    note: 'plain http: redirected, path and query kept',
    from: ATTACKER,
    head: 'GET /login?next=%2Fcart HTTP/1.1\r\nHost: shop.example',
    want: { status: 301, location: 'https://shop.example/login?next=%2Fcart' },
  },
  {
    note: 'forged X-Forwarded-Proto from a client: still redirected',
    from: ATTACKER,
    head: 'GET /login HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-Proto: https',
    want: { status: 301, location: 'https://shop.example/login' },
  },
  {
    note: 'forged X-Forwarded-Proto passed through by a proxy that appends only X-Forwarded-For: still redirected',
    from: PROXY,
    head: 'GET /login HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 203.0.113.7, 127.0.0.2\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Proto: http',
    want: { status: 301, location: 'https://shop.example/login' },
  },
  {
    note: '//evil path: stays on our host',
    from: ATTACKER,
    head: 'GET //evil.example/x HTTP/1.1\r\nHost: WWW.Shop.Example.',
    want: { status: 301, location: 'https://www.shop.example//evil.example/x' },
  },
  {
    note: 'forged Host: 400, not a redirect to it',
    from: ATTACKER,
    head: 'GET /login HTTP/1.1\r\nHost: evil.example',
    want: { status: 400, location: undefined },
  },
  {
    note: 'userinfo trick in Host: 400',
    from: ATTACKER,
    head: 'GET /login HTTP/1.1\r\nHost: shop.example@evil.example',
    want: { status: 400, location: undefined },
  },
  {
    note: 'two Host lines: 400',
    from: ATTACKER,
    head: 'GET /login HTTP/1.1\r\nHost: shop.example\r\nHost: evil.example',
    want: { status: 400, location: undefined },
  },
  {
    note: 'POST over http: 403 (its body already went in clear)',
    from: ATTACKER,
    head: 'POST /login HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 0',
    want: { status: 403, location: undefined },
  },
  {
    note: 'health check is exempt',
    from: ATTACKER,
    head: 'GET /healthz HTTP/1.1\r\nHost: 10.0.0.5:8080',
    want: { status: 200, location: undefined },
  },
  {
    note: 'https via our proxy: served; cookie made Secure; HSTS',
    from: PROXY,
    head: 'GET /login HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https',
    want: {
      status: 200,
      location: undefined,
      cookie: 'sid=abc123; Path=/; HttpOnly; Secure',
      hsts: 'max-age=31536000; includeSubDomains',
    },
  },
]

/** Build the demo app. */
export const build = async () => {
  const app = Fastify()
  await app.register(trustProxy, OPTIONS)
  app.get('/login', async (request, reply) => {
    // written without Secure, as most apps do: proxy-aware adds it
    reply.header('set-cookie', 'sid=abc123; Path=/; HttpOnly')
    return `hello ${request.ip} over ${request.protocol}`
  })
  app.post('/login', async () => 'never reached over http')
  app.get('/healthz', async () => 'ok')
  return app
}

/** Send a raw request head from `from`; resolve to the status and headers. */
const rawRequest = (port, head, from) =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from })
    let data = ''
    socket.setEncoding('latin1')
    socket.on('data', chunk => {
      data += chunk
    })
    socket.on('error', reject)
    socket.on('end', () => {
      const [statusLine, ...lines] = data.slice(0, data.indexOf('\r\n\r\n')).split('\r\n')
      const headers = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        const name = line.slice(0, colon).toLowerCase()
        headers[name] ??= line.slice(colon + 1).trim()
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers })
    })
    socket.write(`${head}\r\nConnection: close\r\n\r\n`)
  })

export const run = async () => {
  const app = await build()
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  console.log(`Fastify on ${url}, options ${JSON.stringify(OPTIONS)}\n`)
  const failures = []
  const rows = []
  try {
    for (const [i, step] of SCRIPT.entries()) {
      const res = await rawRequest(app.server.address().port, step.head, step.from)
      const got = {
        status: res.status,
        location: res.headers.location,
        cookie: res.headers['set-cookie'],
        hsts: res.headers['strict-transport-security'],
      }
      const want = { cookie: undefined, hsts: undefined, ...step.want }
      const bad = Object.keys(want).filter(k => got[k] !== want[k])
      if (bad.length > 0)
        failures.push(
          `#${i + 1} ${step.note}: ${bad.map(k => `${k} ${JSON.stringify(got[k])}, expected ${JSON.stringify(want[k])}`).join('; ')}`,
        )
      rows.push([
        String(i + 1),
        step.from === PROXY ? `proxy\n${step.from}` : `attacker\n${step.from}`,
        `${step.note}\n${step.head.replaceAll('\r\n', '\n')}`,
        [
          String(got.status),
          got.location && `Location: ${got.location}`,
          got.cookie && `Set-Cookie: ${got.cookie}`,
          got.hsts && `HSTS: ${got.hsts}`,
        ]
          .filter(Boolean)
          .join('\n'),
        bad.length === 0 ? 'ok' : 'UNEXPECTED',
      ])
    }
  } finally {
    await app.close()
  }
  printTable(['#', 'sent by', 'request', 'response', 'check'], rows)
  if (failures.length > 0)
    throw new Error(`https: ${failures.length} unexpected result(s):\n  ${failures.join('\n  ')}`)
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await run()
