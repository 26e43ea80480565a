// examples/mtls-express/server.mjs run as a user runs it: its make-certs.sh
// writes the certificates, then `node server.mjs <mode> <certs>` serves
// them. `https` (https.createServer + assertClientCertServer) and `watch`
// (tlsOptions with the files' contents + watchTls with their paths) must
// answer alike. The example imports the built package (dist/).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { childEnv } from './support/child-env.js'
import { freePort } from './support/proxies.js'

const example = fileURLToPath(new URL('../examples/mtls-express/', import.meta.url))

const get = (port: number, path: string, certs: string, client?: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const read = (name: string) => readFileSync(join(certs, name))
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'localhost',
        ca: read('ca.crt'),
        agent: false,
        ...(client === undefined ? {} : { cert: read(`${client}.crt`), key: read(`${client}.key`) }),
      },
      res => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode!, body }))
      },
    )
    req.on('error', reject)
    req.end()
  })

/** Start the example in `mode`; resolves once it printed that it listens. */
const start = (t: Test, mode: string, certs: string, port: number) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, ['server.mjs', mode, certs], {
      cwd: example,
      env: childEnv({ PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    t.teardown(() => {
      child.kill()
    })
    let out = ''
    const seen = (d: Buffer) => {
      out += String(d)
      if (out.includes(`${mode} mode on 127.0.0.1:${port}`)) resolve(child)
    }
    child.stdout.on('data', seen)
    child.stderr.on('data', (d: Buffer) => (out += String(d)))
    child.on('exit', code => reject(new Error(`server.mjs ${mode} exited ${code}: ${out}`)))
  })

// (dist/ is built by `npm install`'s prepare script; after editing src/, `npm run build`)
t.test('the Express mTLS example, with its own make-certs.sh', async t => {
  const certs = mkdtempSync(join(tmpdir(), 'pa-example-mtls-'))
  t.teardown(() => rmSync(certs, { recursive: true, force: true }))
  execFileSync('sh', [join(example, 'make-certs.sh'), certs], { stdio: 'ignore' })
  for (const mode of ['https', 'watch']) {
    const port = await freePort()
    await start(t, mode, certs, port)
    t.same(
      await get(port, '/admin', certs, 'client'),
      { status: 200, body: '{"admin":"web"}' },
      `${mode}: allowed client`,
    )
    t.equal((await get(port, '/admin', certs, 'stranger')).status, 403, `${mode}: another CA's client is refused`)
    t.equal((await get(port, '/admin', certs)).status, 403, `${mode}: no certificate, no admin`)
    t.same(
      await get(port, '/', certs),
      { status: 200, body: '{"client":null,"reason":"missing"}' },
      `${mode}: optional elsewhere, with the reason`,
    )
  }
})
