// docs/deployments/nginx/*.conf, started as written, in front of the
// Fastify and Express apps (test/fixtures/deployments.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { certs } from './support/certs.js'
import {
  certFiles,
  certScenarios,
  hasIpv6Loopback,
  recipe,
  scenarios,
  startApps,
  withoutIpv6,
} from './fixtures/deployments.js'
import { freePort, need, nginxConf, startProxy } from './support/proxies.js'

const nginx = need(t, 'nginx')
const ipv6 = await hasIpv6Loopback()

/** Start nginx with a recipe (server blocks) filled with `vars`; stopped when `t` ends. */
const startNginx = async (t: Test, file: string, vars: Record<string, string | number>, wait: number[]) => {
  const f = certFiles(t)
  const conf = withoutIpv6(recipe(file, { ...f, ...vars }), ipv6)
  writeFileSync(join(f.dir, 'nginx.conf'), nginxConf(f.dir, conf))
  await startProxy(t, nginx!, ['-c', join(f.dir, 'nginx.conf'), '-p', f.dir, '-e', 'stderr'], wait)
}

if (nginx !== undefined) {
  await t.test('TLS termination (nginx/tls-termination.conf)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const app = await startApps(t, { tlsPort: tls, clientCert: { mode: 'optional', forwarded: { source: 'nginx' } } })
    await startNginx(t, 'nginx/tls-termination.conf', { APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls }, [http, tls])
    await scenarios(t, 'nginx', { http, tls, app }, { ipv6 })
    const c = certs()
    await certScenarios(
      t,
      'nginx',
      tls,
      { 'x-ssl-client-cert': encodeURIComponent(c.valid.cert), 'x-ssl-client-verify': 'SUCCESS' },
      ['expired'],
    )
  })
}

if (nginx !== undefined) {
  // examples/nginx/nginx.conf is a whole file for `nginx -p DIR -c FILE`:
  // run it that way, with only its three ports changed to free ones
  await t.test('the whole example file (examples/nginx/nginx.conf), run with -p and -c', async t => {
    const tls = await freePort()
    const http = await freePort()
    const app = await startApps(t, { tlsPort: tls, clientCert: { mode: 'optional', forwarded: { source: 'nginx' } } })
    const { dir } = certFiles(t)
    const c = certs()
    mkdirSync(join(dir, 'certs'))
    writeFileSync(join(dir, 'certs', 'server.crt'), c.server.cert)
    writeFileSync(join(dir, 'certs', 'server.key'), c.server.key)
    writeFileSync(join(dir, 'certs', 'ca.crt'), c.root.cert)
    const text = readFileSync(new URL('../examples/nginx/nginx.conf', import.meta.url), 'utf8')
    const ports: [RegExp, number][] = [
      [/:3000;/g, app],
      [/:8080;/g, http],
      [/:8443 ssl/g, tls],
    ]
    let conf = text
    for (const [pattern, port] of ports) {
      t.equal(
        conf.match(pattern)?.length ?? 0,
        pattern.source.includes('8443') ? 2 : 1,
        `the file listens on ${pattern}`,
      )
      conf = conf.replace(pattern, m => m.replace(/\d+/, String(port)))
    }
    writeFileSync(join(dir, 'nginx.conf'), withoutIpv6(conf, ipv6))
    await startProxy(t, nginx!, ['-p', dir, '-c', 'nginx.conf', '-e', 'stderr'], [http, tls])
    await scenarios(t, 'nginx example', { http, tls, app }, { ipv6 })
    await certScenarios(
      t,
      'nginx example',
      tls,
      { 'x-ssl-client-cert': encodeURIComponent(c.valid.cert), 'x-ssl-client-verify': 'SUCCESS' },
      ['expired'],
    )
  })
}

if (nginx !== undefined) {
  await t.test('re-encryption to an https app (nginx/re-encrypt.conf)', async t => {
    const tls = await freePort()
    const http = await freePort()
    const app = await startApps(t, { tlsPort: tls, tls: true })
    await startNginx(t, 'nginx/re-encrypt.conf', { APP_PORT: app, HTTP_PORT: http, TLS_PORT: tls }, [http, tls])
    await scenarios(t, 'nginx re-encrypting', { http, tls, app, appTls: true }, { ipv6 })
  })
}
