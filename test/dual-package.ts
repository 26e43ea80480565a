// Issue 19 item 6: two copies of the package in one process (the ESM and
// the CommonJS build, or two installed versions) share the identities
// that must be shared: the proxyProtocol() "called twice" guard and
// `instanceof ProxyAwareConfigError`. A second copy is loaded here from
// the same source, bundled as CommonJS by esbuild into a temporary file
// (what the CommonJS build is to the ESM one: every module a second time).
import { buildSync } from 'esbuild'
import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import * as first from '../src/proxy-protocol/index.js'

const other = async () => {
  const outfile = join(mkdtempSync(join(tmpdir(), 'pa-dual-')), 'copy.cjs')
  buildSync({
    entryPoints: [fileURLToPath(new URL('../src/proxy-protocol/index.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    logLevel: 'silent',
    // the CommonJS dialect file, as tshy swaps it in (import.meta does not exist there)
    define: { 'import.meta.url': JSON.stringify(new URL('../src/engine/module-dir.ts', import.meta.url).href) },
  })
  return createRequire(import.meta.url)(outfile) as typeof first
}

t.test("a second copy of the package sees the first one's wrap, and its errors are instanceof", async t => {
  const second = await other()
  t.not(second.proxyProtocol, first.proxyProtocol, 'two module instances were loaded')
  const server = first.proxyProtocol(net.createServer(), { trust: 'loopback' })
  const err = t.throws(() => second.proxyProtocol(server, { trust: 'loopback' }), {
    option: 'server',
    message: /twice/,
  })
  t.ok(err instanceof first.ProxyAwareConfigError, "the second copy's error is the first's ProxyAwareConfigError")
  t.ok(err instanceof second.ProxyAwareConfigError)
  t.ok(err instanceof TypeError)
  t.ok(new first.ProxyAwareConfigError('x', 'y') instanceof second.ProxyAwareConfigError)
  for (const value of [new TypeError('x'), {}, null, 'ProxyAwareConfigError', undefined])
    t.notOk(value instanceof first.ProxyAwareConfigError, String(value))
})
