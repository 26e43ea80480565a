// The vendor presets travel with the code (issue 20, item 13): an app
// bundled with esbuild (--bundle --platform=node, the usual build for AWS
// Lambda, Vercel functions and slim images) and run from another folder,
// without the package's data/ next to it, starts with trust: ['cloudflare']
// and trusts Cloudflare. The data is the module scripts/gen-presets.mjs
// writes from data/presets, which must be current.
import t from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { childEnv } from './support/child-env.js'
import { bundledRanges, inside } from './support/presets.js'

const root = fileURLToPath(new URL('..', import.meta.url))

t.test('the presets module is what scripts/gen-presets.mjs writes from data/presets', async t => {
  t.doesNotThrow(() =>
    execFileSync(process.execPath, [join(root, 'scripts/gen-presets.mjs'), '--check'], {
      env: childEnv(),
      stdio: 'pipe',
    }),
  )
})

t.test('an app bundled with esbuild, run from another folder, starts with trust: ["cloudflare"]', async t => {
  const build = mkdtempSync(join(tmpdir(), 'proxy-aware-bundle-'))
  const run = mkdtempSync(join(tmpdir(), 'proxy-aware-bundle-run-'))
  t.teardown(() => {
    rmSync(build, { recursive: true, force: true })
    rmSync(run, { recursive: true, force: true })
  })
  const edge = inside(bundledRanges('cloudflare')[0]!)
  writeFileSync(
    join(build, 'app.mjs'),
    `import http from 'node:http'
import { createTrustProxy } from ${JSON.stringify(join(root, 'src/index.ts'))}
const proxy = createTrustProxy({ trust: ['cloudflare'], maxPresetAge: 0 })
const viaEdge = proxy.resolve({ headers: { 'x-forwarded-for': '198.51.100.7' }, socket: { remoteAddress: ${JSON.stringify(edge)} } }).ip
const server = http.createServer((req, res) => {
  res.end(JSON.stringify({ ip: proxy.resolve(req).ip, viaEdge }))
  server.close()
})
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`,
  )
  await esbuild.build({
    entryPoints: [join(build, 'app.mjs')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: join(build, 'out.mjs'),
    logLevel: 'silent',
  })
  t.match(readFileSync(join(build, 'out.mjs'), 'utf8'), bundledRanges('cloudflare')[0]!, 'the ranges are in the bundle')
  copyFileSync(join(build, 'out.mjs'), join(run, 'app.mjs'))
  const child = execFile(process.execPath, [join(run, 'app.mjs')], { cwd: run, env: childEnv() })
  let stderr = ''
  child.stderr!.on('data', d => (stderr += d))
  const exited = new Promise<number | null>(resolve => child.on('exit', resolve))
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', d => resolve(Number(String(d).trim())))
    child.once('exit', code => reject(new Error(`the bundled app exited (${code}): ${stderr}`)))
  })
  const body = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, localAddress: '127.0.0.2', headers: { 'x-forwarded-for': '6.6.6.6' } }, res => {
        let text = ''
        res.on('data', d => (text += d)).on('end', () => resolve(text))
      })
      .on('error', reject)
  })
  t.same(
    JSON.parse(body),
    { ip: '127.0.0.2', viaEdge: '198.51.100.7' },
    'a Cloudflare peer is trusted, a direct one not',
  )
  t.equal(await exited, 0, stderr)
})
