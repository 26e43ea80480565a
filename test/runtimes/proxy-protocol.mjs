// The PROXY protocol on whichever runtime runs this file: an http server
// wrapped directly (Node, Deno; refused at startup on Bun, naming Bun), and
// the way that works everywhere (a net.Server wrapped, handing each socket
// to the HTTP server).
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { createTrustProxy } from '../../dist/esm/index.js'
import { proxyProtocol, proxyProtocolOf } from '../../dist/esm/proxy-protocol/index.js'
import { PROXY, check, isBun, listen, raw } from './harness.mjs'

const HEADER = Buffer.from('PROXY TCP4 198.51.100.7 192.0.2.1 40000 443\r\n')
const OPTIONS = { trust: PROXY }

/** An http server answering the client IP and the header's source. */
const app = () => {
  const proxy = createTrustProxy({ trust: PROXY })
  return http.createServer((req, res) => {
    res.end(`${proxy.resolve(req).ip} ${proxyProtocolOf(req)?.source.address}`)
  })
}

if (isBun) {
  check('proxyProtocol(http server) refuses to start on Bun, naming Bun', async () => {
    assert.throws(() => proxyProtocol(app(), OPTIONS), {
      name: 'ProxyAwareConfigError',
      message: /"server" is an HTTP server on Bun \d/,
    })
  })
} else {
  check('proxyProtocol(http server): the header source is the client', async () => {
    const { port, close } = await listen(proxyProtocol(app(), OPTIONS))
    try {
      const reply = await raw(port, { from: PROXY, prefix: HEADER })
      assert.equal(reply.status, 200)
      assert.equal(reply.body, '198.51.100.7 198.51.100.7')
    } finally {
      await close()
    }
  })
}

check('proxyProtocol(net server) handing sockets to an http server', async () => {
  const server = app()
  const front = proxyProtocol(
    net.createServer(socket => server.emit('connection', socket)),
    OPTIONS,
  )
  const { port, close } = await listen(front)
  try {
    const reply = await raw(port, { from: PROXY, prefix: HEADER })
    assert.equal(reply.status, 200)
    assert.equal(reply.body, '198.51.100.7 198.51.100.7')
    // a header from a peer not in trust is never read: the connection closes
    const untrusted = await raw(port, { prefix: HEADER })
    assert.equal(untrusted.body, '')
  } finally {
    await close()
  }
})
