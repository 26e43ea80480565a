// The runtime-specific branches of src/ simulated in-process on Node (the
// real runtimes run test/runtimes/*.mjs under Bun and Deno, whose coverage
// is not collected): Bun's ServerResponse sends its headers through a
// native handle (src/response/hook.ts), checked at startup by the
// self-test; startup errors name the runtime (src/core/runtime.ts).
import t from 'tap'
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import {
  checkTlsRuntime,
  checkX509Runtime,
  objectSet,
  ownShapeAfterSetPrototype,
  runtimeName,
} from '../src/core/runtime.js'
import {
  addHeader,
  handleKeyOf,
  type HeaderSet,
  hookNativeHandle,
  type NativeHandle,
  nativeHandleKey,
  onHeaders,
} from '../src/response/hook.js'
import { nativeHandle } from '../src/response/self-test.js'
import { proxyProtocol } from '../src/proxy-protocol/index.js'
import { checkRuntime } from '../src/proxy-protocol/runtime.js'

t.test('runtimeName', async t => {
  t.equal(runtimeName({ bun: '1.4.5', node: '24.3.0' }, 'v24.3.0'), 'Bun 1.4.5')
  t.equal(runtimeName({ deno: '2.9.6', node: '24.2.0' }, 'v24.2.0'), 'Deno 2.9.6')
  t.equal(runtimeName({ node: '22.1.0' }, 'v22.1.0'), 'Node v22.1.0')
  t.equal(runtimeName(), `Node ${process.version}`)
})

t.test('ownShapeAfterSetPrototype: V8 before 13 only', async t => {
  t.equal(ownShapeAfterSetPrototype({ node: '20.20.2', v8: '11.3.244.8-node.38' }), true)
  t.equal(ownShapeAfterSetPrototype({ node: '22.23.5', v8: '12.4.254.21-node.57' }), true)
  t.equal(ownShapeAfterSetPrototype({ node: '24.22.3', v8: '13.6.233.17-node.63' }), false)
  t.equal(ownShapeAfterSetPrototype({ node: '26.12.1', v8: '14.6.202.34-node.40' }), false)
  // Bun reports a V8 version it does not run
  t.equal(ownShapeAfterSetPrototype({ bun: '1.4.5', v8: '12.4.254.14-node.12' }), false)
  t.equal(ownShapeAfterSetPrototype({ deno: '2.9.6', v8: '12.0.0' }), false)
  t.equal(ownShapeAfterSetPrototype(), Number(process.versions.v8.split('.')[0]) < 13)
})

t.test('objectSet: a WeakSet, or marks under a symbol', async t => {
  for (const weak of [true, false]) {
    const set = objectSet('test.mark', weak)
    const a = {}
    const b = {}
    set.add(a)
    t.same([set.has(a), set.has(b)], [true, false], `weak: ${weak}`)
    t.equal(Reflect.ownKeys(a).length, weak ? 0 : 1, `weak: ${weak}: marks on the object`)
  }
})

/** A stand-in for Bun's NodeHTTPResponse, recording what it was sent. */
const handleClass = () => {
  const sent: unknown[][] = []
  class Handle {
    writeHead(...args: unknown[]) {
      sent.push(['writeHead', ...args])
    }
    writeHeadAndEnd(...args: unknown[]) {
      sent.push(['writeHeadAndEnd', ...args])
    }
  }
  return { Handle, sent }
}
const mark = (headers: HeaderSet, out: boolean) => addHeader(headers, out, 'X-Mark', '1')

t.test('Node: responses have no native handle', async t => {
  t.equal(nativeHandleKey(), undefined)
  t.equal(nativeHandleKey(), undefined, 'looked up once')
  t.equal(handleKeyOf(new ServerResponse(new IncomingMessage(new Socket()))), undefined)
  const key = Symbol('handle')
  t.equal(handleKeyOf({ [Symbol('other')]: 1, [key]: undefined }), key)
  t.equal(nativeHandle(), undefined, 'nothing to check')
})

t.test('hookNativeHandle edits what writeHead and writeHeadAndEnd send', async t => {
  const { Handle, sent } = handleClass()
  const a = new Handle() as InstanceType<typeof Handle> & NativeHandle
  const b = new Handle() as InstanceType<typeof Handle> & NativeHandle
  t.equal(hookNativeHandle(a, mark), true)
  t.equal(
    hookNativeHandle(b, (h, out) => addHeader(h, out, 'X-B', '2')),
    true,
    'the prototype is wrapped once',
  )
  const c = new Handle()
  a.writeHead(200, 'OK', ['Set-Cookie', 'a=1'], 0)
  b.writeHeadAndEnd(204, 'No Content', ['\u0000', '2'], 'chunk')
  c.writeHead(200, 'OK', ['x', '1'])
  t.same(sent, [
    ['writeHead', 200, 'OK', ['Set-Cookie', 'a=1', 'X-Mark', '1'], 0],
    ['writeHeadAndEnd', 204, 'No Content', ['\u0000', '2', 'X-B', '2'], 'chunk'],
    ['writeHead', 200, 'OK', ['x', '1']],
  ])
  class Partial {
    writeHead() {}
  }
  t.equal(hookNativeHandle(new Partial() as NativeHandle, mark), false, 'no writeHeadAndEnd: not hooked')
  t.equal(typeof (Partial.prototype as unknown as Record<string, unknown>).writeHeadAndEnd, 'undefined')
})

t.test('onHeaders hooks the native handle of a response that has one', async t => {
  const key = Symbol('handle')
  const response = (handle?: object) => {
    const res = new ServerResponse(new IncomingMessage(new Socket()))
    ;(res as unknown as Record<symbol, unknown>)[key] = handle
    return res
  }
  const { Handle, sent } = handleClass()
  const handle = new Handle()
  const res = response(handle)
  t.equal(onHeaders(res, mark, key), true)
  t.equal(
    onHeaders(res, (h, out) => addHeader(h, out, 'X-Later', '1'), key),
    true,
  )
  handle.writeHeadAndEnd(200, 'OK', ['a', '1'])
  t.same(
    sent,
    [['writeHeadAndEnd', 200, 'OK', ['a', '1', 'X-Later', '1', 'X-Mark', '1']]],
    'both edits, the later first',
  )
  t.equal(onHeaders(response(undefined), mark, key), true, 'no handle: _storeHeader, as on Node')
  class NoMethods {}
  t.equal(onHeaders(response(new NoMethods()), mark, key), false, 'a handle that cannot be hooked')
})

/**
 * A ServerResponse shaped like Bun's: it keeps the request's handle under
 * `key`, and `end` / `write` render the header map into a flat array and
 * send it through the handle (`through: false` simulates a Bun that
 * sends them some other way).
 */
const bunLike = (key: symbol, through = true) =>
  class BunLike extends ServerResponse {
    constructor(req: IncomingMessage) {
      super(req)
      ;(this as unknown as Record<symbol, unknown>)[key] = (req as unknown as Record<symbol, unknown>)[key]
    }
    private get handle() {
      return (this as unknown as Record<symbol, Record<string, (...a: unknown[]) => unknown>>)[key]!
    }
    private send(method: 'writeHead' | 'writeHeadAndEnd') {
      const flat = Object.entries(this.getHeaders()).flat()
      if (through) this.handle[method]!(200, 'OK', flat)
    }
    override end() {
      this.send('writeHeadAndEnd')
      return this
    }
    // as Bun's: the head and the chunk in one corked write
    override write() {
      this.handle.cork!(() => {
        this.send('writeHead')
        this.handle.write!('x')
      })
      return true
    }
  }

t.test('the self-test of the native handle path', async t => {
  const key = Symbol('handle')
  t.equal(nativeHandle(key, bunLike(key) as typeof ServerResponse), undefined, 'headers pass through the handle')
  t.match(
    nativeHandle(key, bunLike(key, false) as typeof ServerResponse),
    /no longer pass through its native handle's writeHead \/ writeHeadAndEnd/,
  )
})

t.test('proxyProtocol on Bun: HTTP servers refused at startup, naming Bun; net and tls servers accepted', async t => {
  const bun = { bun: '1.4.5' }
  const http = await import('node:http')
  const https = await import('node:https')
  const http2 = await import('node:http2')
  const net = await import('node:net')
  const tls = await import('node:tls')
  const refused = {
    'http': http.createServer(),
    'https': https.createServer(),
    'http2': http2.createServer(),
    'http2 secure': http2.createSecureServer(),
  }
  for (const [name, server] of Object.entries(refused)) {
    t.throws(
      () => checkRuntime(server, bun),
      {
        name: 'ProxyAwareConfigError',
        option: 'server',
        message:
          /is an HTTP server on Bun 1\.4\.5, which parses each connection natively .*proxyProtocol\(net\.createServer\(socket => httpServer\.emit\('connection', socket\)\), options\)/,
      },
      name,
    )
    t.doesNotThrow(() => checkRuntime(server, {}), `${name} on Node`)
    t.doesNotThrow(() => checkRuntime(server, { deno: '2.9.6' }), `${name} on Deno`)
  }
  t.doesNotThrow(() => checkRuntime(net.createServer(), bun), 'net')
  t.doesNotThrow(() => checkRuntime(tls.createServer(), bun), 'tls')
  const bare = Object.assign(Object.create(null) as object, { emit() {}, listen() {} })
  t.doesNotThrow(() => checkRuntime(bare, bun), 'a server-like object without a constructor')
  // through the public function, on this runtime (Node): accepted
  t.doesNotThrow(() => proxyProtocol(http.createServer(), { trust: '127.0.0.2' }))
})

t.test('client certificates terminated by the app: refused at startup on Bun and Deno, naming the runtime', async t => {
  for (const [versions, name, instead] of [
    [{ bun: '1.4.5' }, 'Bun 1.4.5', 'Terminate mTLS in a proxy and use clientCert.forwarded, or run on Node'],
    [{ deno: '2.9.6' }, 'Deno 2.9.6', 'Run on Node'],
  ] as const) {
    const e = t.throws(() => checkTlsRuntime('clientCert', versions), {
      name: 'ProxyAwareConfigError',
      option: 'clientCert',
    }) as Error
    t.match(e.message, `cannot verify client certificates received by the app's own TLS server on ${name}: `)
    t.ok(e.message.endsWith(`. ${instead}`), e.message)
  }
  t.doesNotThrow(() => checkTlsRuntime('trustCertificate', {}), 'Node')
  t.doesNotThrow(() => checkTlsRuntime('clientCert'), 'this process: Node')
})

t.test('forwarded client certificates: refused at startup on Deno, naming it', async t => {
  t.throws(() => checkX509Runtime('clientCert.forwarded', { deno: '2.9.6' }), {
    name: 'ProxyAwareConfigError',
    option: 'clientCert.forwarded',
    message:
      /cannot verify client certificates on Deno 2\.9\.6: its node:crypto X509Certificate\.keyUsage reports key usage/,
  })
  t.doesNotThrow(() => checkX509Runtime('clientCert.forwarded', { bun: '1.4.5' }), 'Bun')
  t.doesNotThrow(() => checkX509Runtime('clientCert.forwarded'), 'this process: Node')
})
