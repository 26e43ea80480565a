// Pack the package, install the tarball into a scratch project, import
// every entry point from it in both ESM and CommonJS, and run its bin.
// proxy-aware/otel must load without OpenTelemetry installed (none is
// installed here).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-pack-'))
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' })
try {
  // `npm test` built dist just before: pack without running `prepare` again
  const tgz = run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], root)
    .trim()
    .split('\n')
    .pop()
  // the package's shape under every TypeScript resolution mode, on the same tarball
  process.stdout.write(run('npx', ['attw', join(dir, tgz)], root))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'smoke', private: true }))
  const fastify = JSON.parse(run('npm', ['pkg', 'get', 'devDependencies.fastify'], root))
  const express = JSON.parse(run('npm', ['pkg', 'get', 'devDependencies.express'], root))
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--silent',
      join(dir, tgz),
      `fastify@${fastify}`,
      `express@${express}`,
    ],
    dir,
  )
  // tlsOptions refuses what is not PEM: the test fixture's pair
  const pem = name => readFileSync(join(root, 'test', 'fixtures', `https-${name}.pem`), 'utf8')
  const checks = `
    if (typeof core.createTrustProxy !== 'function') throw new Error('core: createTrustProxy missing')
    const r = core.createTrustProxy({ trust: 'loopback' }).resolve({ headers: { 'x-forwarded-for': '203.0.113.9' }, socket: { remoteAddress: '127.0.0.1' } })
    if (r.ip !== '203.0.113.9') throw new Error('core: wrong ip ' + r.ip)
    const cf = core.createTrustProxy({ trust: ['cloudflare'], maxPresetAge: 0 }).resolve({ headers: { 'x-forwarded-for': '203.0.113.9' }, socket: { remoteAddress: '173.245.48.1' } })
    if (cf.ip !== '203.0.113.9') throw new Error('core: the cloudflare preset ' + cf.ip)
    if (typeof fastifyEntry.trustProxy !== 'function' || fastifyEntry.default !== fastifyEntry.trustProxy) throw new Error('fastify entry')
    if (typeof expressEntry.trustProxy !== 'function' || expressEntry.default !== expressEntry.trustProxy) throw new Error('express entry')
    if (typeof otelEntry.otelHooks !== 'function' || otelEntry.default !== otelEntry.otelHooks) throw new Error('otel entry')
    const attrs = otelEntry.otelHooks({ trust: 'loopback' }).startIncomingSpanHook({ headers: { host: 'a.example', 'x-forwarded-for': '6.6.6.6, 203.0.113.9' }, socket: { remoteAddress: '127.0.0.1' } })
    if (attrs['client.address'] !== '203.0.113.9') throw new Error('otel: wrong client.address ' + attrs['client.address'])
    if (tlsEntry.tlsOptions({ key: ${JSON.stringify(pem('key'))}, cert: ${JSON.stringify(pem('cert'))} }).minVersion !== 'TLSv1.2' || typeof tlsEntry.watchTls !== 'function') throw new Error('tls entry')
    const app = Fastify()
    await app.register(fastifyEntry.trustProxy, { trust: 'loopback' })
    app.get('/', req => req.ip)
    const res = await app.inject({ url: '/', headers: { 'x-forwarded-for': '198.51.100.7' } })
    if (res.body !== '198.51.100.7') throw new Error('fastify: wrong ip ' + res.body)
    const pp = ppEntry.parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 4000 443\\r\\n'))
    if (!pp || !pp.ok || pp.header.source.address !== '203.0.113.7') throw new Error('proxy-protocol: parse ' + JSON.stringify(pp))
    const server = ppEntry.proxyProtocol(http.createServer((req, res) => res.end(req.socket.remoteAddress + ' ' + ppEntry.proxyProtocolOf(req).version)), { trust: 'loopback' })
    await new Promise(r => server.listen(0, '127.0.0.1', r))
    const answer = await new Promise((resolve, reject) => {
      const s = net.connect(server.address().port, '127.0.0.1', () => s.end('PROXY TCP4 203.0.113.7 10.0.0.1 4000 443\\r\\nGET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'))
      let text = ''
      s.on('data', d => { text += d })
      s.on('end', () => resolve(text))
      s.on('error', reject)
    })
    server.close()
    if (!answer.endsWith('203.0.113.7 1')) throw new Error('proxy-protocol: wrong answer ' + answer)
    console.log(MODE + ': all entry points load and work')
  `
  writeFileSync(
    join(dir, 'esm.mjs'),
    `
    import * as core from 'proxy-aware'
    import * as fastifyEntry from 'proxy-aware/fastify'
    import * as expressEntry from 'proxy-aware/express'
    import * as otelEntry from 'proxy-aware/otel'
    import * as ppEntry from 'proxy-aware/proxy-protocol'
    import * as tlsEntry from 'proxy-aware/tls'
    import Fastify from 'fastify'
    import http from 'node:http'
    import net from 'node:net'
    const MODE = 'ESM'
    ${checks}`,
  )
  writeFileSync(
    join(dir, 'cjs.cjs'),
    `
    const core = require('proxy-aware')
    const fastifyEntry = require('proxy-aware/fastify')
    const expressEntry = require('proxy-aware/express')
    const otelEntry = require('proxy-aware/otel')
    const ppEntry = require('proxy-aware/proxy-protocol')
    const tlsEntry = require('proxy-aware/tls')
    const Fastify = require('fastify')
    const http = require('node:http')
    const net = require('node:net')
    const MODE = 'CommonJS'
    ;(async () => { ${checks} })().catch(e => { console.error(e); process.exit(1) })`,
  )
  process.stdout.write(run('node', ['esm.mjs'], dir))
  process.stdout.write(run('node', ['cjs.cjs'], dir))
  // the bin, as npm linked it: the shebang survived the build, and main() runs
  const bin = join(dir, 'node_modules', '.bin', 'proxy-aware')
  const version = JSON.parse(run('npm', ['pkg', 'get', 'version'], root))
  if (run(bin, ['--version'], dir).trim() !== version) throw new Error('bin: wrong --version')
  const trail = run(
    bin,
    ['explain', '--trust', 'loopback', '--peer', '127.0.0.1', '-H', 'X-Forwarded-For: 203.0.113.9'],
    dir,
  )
  if (!trail.startsWith('client   203.0.113.9\n')) throw new Error('bin: explain printed ' + trail)
  console.log('bin: proxy-aware --version and explain run from the tarball')
  // every source map's `sources` must resolve inside the installed package:
  // a debugger, `node --enable-source-maps` or a bundler's source-map loader
  // follows them (declaration maps have no `sourcesContent` to fall back on)
  const pkg = join(dir, 'node_modules', 'proxy-aware')
  const maps = readdirSync(pkg, { recursive: true }).filter(f => String(f).endsWith('.map'))
  if (maps.length === 0) throw new Error('source maps: none in the tarball')
  const dangling = []
  for (const map of maps) {
    const file = join(pkg, String(map))
    const { sources = [], sourceRoot = '' } = JSON.parse(readFileSync(file, 'utf8'))
    for (const source of sources) {
      const target = resolve(dirname(file), sourceRoot, source)
      if (!target.startsWith(pkg + '/') || !existsSync(target)) dangling.push(`${map} -> ${source}`)
    }
  }
  if (dangling.length > 0)
    throw new Error(`source maps point outside the tarball:\n  ${dangling.slice(0, 10).join('\n  ')}`)
  console.log(`source maps: the sources of all ${maps.length} maps are in the tarball`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
