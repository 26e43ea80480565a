// End-to-end through real reverse proxies (Debian's nginx and HAProxy, which
// .ci/run installs): a client on 127.0.0.5 talks to the proxy, the proxy to
// a Fastify app that trusts only the proxy's address. Outside CI a missing
// proxy binary skips its test; in CI it fails.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { trustProxy } from '../src/fastify.js'

const which = (bin: string): string | undefined => {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    try {
      execFileSync('test', ['-x', join(dir, bin)])
      return join(dir, bin)
    } catch {}
  }
  return undefined
}

const freePort = () =>
  new Promise<number>(resolve => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })

interface Seen { ip: string, ips: string[], protocol: string, host: string, reason: string }

const get = (
  port: number,
  headers: Record<string, string>,
  opts: { localAddress: string, tls?: boolean },
) =>
  new Promise<Seen>((resolve, reject) => {
    const req = (opts.tls ? httpsRequest : httpRequest)({
      host: '127.0.0.1', port, path: '/whoami', headers, localAddress: opts.localAddress,
      rejectUnauthorized: false, agent: false,
    }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', c => { body += c })
      res.on('end', () => res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${res.statusCode} ${body}`)))
    })
    req.on('error', reject)
    req.end()
  })

const waitForPort = async (port: number, child: ChildProcess, log: () => string) => {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`proxy exited: ${log()}`)
    const ok = await new Promise<boolean>(resolve => {
      const s = createServer()
      s.once('error', () => resolve(true)) // in use: the proxy is listening
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)))
    })
    if (ok) return
    await new Promise(r => setTimeout(r, 50))
  }
  throw new Error(`proxy did not listen on ${port}: ${log()}`)
}

const startApp = async (t: Test) => {
  const app = Fastify()
  // only the proxy (which connects from 127.0.0.1) is trusted
  await app.register(trustProxy, { trust: '127.0.0.1' })
  app.get('/whoami', req => ({
    ip: req.ip, ips: req.ips, protocol: req.protocol, host: req.host, reason: req.proxyAware.reason,
  }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return (app.server.address() as AddressInfo).port
}

const run = (t: Test, bin: string, args: string[]) => {
  let log = ''
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.on('data', d => { log += d })
  child.stderr!.on('data', d => { log += d })
  t.teardown(() => { child.kill('SIGKILL') })
  return { child, log: () => log }
}

const selfSigned = (dir: string) => {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2',
    '-subj', '/CN=localhost',
  ], { stdio: 'ignore' })
}

const need = (t: Test, bin: string): string | undefined => {
  const path = which(bin)
  if (path === undefined) {
    if (process.env.CI) t.fail(`${bin} is not installed: .ci/run must install it`)
    else t.pass(`${bin} end-to-end`, { skip: `${bin} is not installed (apt-get install nginx-light haproxy)` })
  }
  return path
}

t.test('nginx: appends with $proxy_add_x_forwarded_for and sets X-Forwarded-Proto', async t => {
  const nginx = need(t, 'nginx')
  if (!nginx) return
  const dir = mkdtempSync(join(tmpdir(), 'pa-nginx-'))
  selfSigned(dir)
  const appPort = await startApp(t)
  const httpPort = await freePort()
  const tlsPort = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${httpPort};
    listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location / {
      proxy_pass http://127.0.0.1:${appPort};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`)
  const { child, log } = run(t, nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', 'stderr'])
  await waitForPort(httpPort, child, log)
  await waitForPort(tlsPort, child, log)

  const plain = await get(httpPort, {}, { localAddress: '127.0.0.5' })
  t.match(plain, { ip: '127.0.0.5', protocol: 'http', reason: 'untrusted-hop' }, 'client seen through nginx')
  t.same(plain.ips, ['127.0.0.1', '127.0.0.5'])

  const spoofed = await get(httpPort, { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' }, { localAddress: '127.0.0.5' })
  t.equal(spoofed.ip, '127.0.0.5', 'a forged X-Forwarded-For is appended to, and never reached')
  t.equal(spoofed.protocol, 'http', 'nginx overwrote the forged X-Forwarded-Proto')

  const tls = await get(tlsPort, { 'x-forwarded-for': '6.6.6.6' }, { localAddress: '127.0.0.6', tls: true })
  t.match(tls, { ip: '127.0.0.6', protocol: 'https' }, 'TLS terminated by nginx is reported as https')

  const direct = await get(appPort, { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' }, { localAddress: '127.0.0.66' })
  t.match(direct, { ip: '127.0.0.66', protocol: 'http', reason: 'untrusted-peer' }, 'a direct attacker is not believed')
})

t.test('HAProxy: option forwardfor adds its own header line', async t => {
  const haproxy = need(t, 'haproxy')
  if (!haproxy) return
  const dir = mkdtempSync(join(tmpdir(), 'pa-haproxy-'))
  selfSigned(dir)
  execFileSync('sh', ['-c', `cat ${dir}/cert.pem ${dir}/key.pem > ${dir}/both.pem`])
  const appPort = await startApp(t)
  const httpPort = await freePort()
  const tlsPort = await freePort()
  writeFileSync(join(dir, 'haproxy.cfg'), `
global
  maxconn 64
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend web
  bind 127.0.0.1:${httpPort}
  bind 127.0.0.1:${tlsPort} ssl crt ${dir}/both.pem
  option forwardfor
  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
  default_backend app
backend app
  server app1 127.0.0.1:${appPort}
`)
  const { child, log } = run(t, haproxy, ['-db', '-f', join(dir, 'haproxy.cfg')])
  await waitForPort(httpPort, child, log)
  await waitForPort(tlsPort, child, log)

  const spoofed = await get(httpPort, { 'x-forwarded-for': '6.6.6.6, 10.0.0.1', 'x-forwarded-proto': 'https' }, { localAddress: '127.0.0.7' })
  t.match(spoofed, { ip: '127.0.0.7', protocol: 'http' }, 'HAProxy\'s own X-Forwarded-For line is rightmost')
  t.same(spoofed.ips, ['127.0.0.1', '127.0.0.7'])

  const tls = await get(tlsPort, {}, { localAddress: '127.0.0.8', tls: true })
  t.match(tls, { ip: '127.0.0.8', protocol: 'https' }, 'TLS terminated by HAProxy is reported as https')
})
