/**
 * Express with client certificates, three ways:
 *
 * 1. `https` mode: the app terminates mTLS (port 8443). Certificates are
 *    optional for the app as a whole and required under /admin.
 * 2. `watch` mode: the same, with `tlsOptions` (PEM contents: Mozilla's
 *    settings, requestCert from `clientCert`) and `watchTls` (file paths:
 *    certificate, CA bundle and CRL reloaded without a restart).
 * 3. `proxy` mode: nginx terminates mTLS and forwards the certificate
 *    (port 8080, plain http from the proxy on 127.0.0.1 only):
 *
 *      proxy_set_header X-SSL-Client-Cert   $ssl_client_escaped_cert;
 *      proxy_set_header X-SSL-Client-Verify $ssl_client_verify;
 *
 *    A client that reaches port 8080 directly cannot forge those headers:
 *    they are deleted because it is not the trusted proxy.
 *
 *   sh make-certs.sh certs && npm run build (at the repo root)
 *   node server.mjs https certs     (or: node server.mjs watch certs)
 *   curl --cacert certs/ca.crt --cert certs/client.crt --key certs/client.key https://localhost:8443/admin
 *   node server.mjs proxy
 *
 * In your app, import from 'proxy-aware/express', 'proxy-aware' and 'proxy-aware/tls'.
 */
import express from 'express'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { assertClientCertServer } from '../../dist/esm/index.js'
import { clientCertPolicy, trustProxy } from '../../dist/esm/express.js'
import { tlsOptions, watchTls } from '../../dist/esm/tls/index.js'

const routes = app => {
  app.get('/', (req, res) => {
    res.json({ client: req.clientCert?.san.uri[0] ?? null, reason: req.clientCertError?.reason ?? null })
  })
  const admin = express.Router()
  admin.use(clientCertPolicy({ mode: 'required', allow: { uri: ['spiffe://example.org/ns/prod/sa/web'] } }))
  admin.get('/', (req, res) => res.json({ admin: req.clientCert.commonNames[0] }))
  app.use('/admin', admin)
  return app
}

/** The app terminating mTLS itself. */
export const buildHttps = certs => {
  const read = name => readFileSync(join(certs, name))
  const app = express()
  app.use(trustProxy({ trust: 'loopback', clientCert: { mode: 'optional' } }))
  routes(app)
  // assertClientCertServer: startup error unless requestCert and an explicit ca
  return https.createServer(
    assertClientCertServer({
      key: read('server.key'),
      cert: read('server.crt'),
      ca: read('ca.crt'),
      requestCert: true,
      rejectUnauthorized: false,
    }),
    app,
  )
}

/**
 * The app terminating mTLS with `tlsOptions` and `watchTls` together:
 * `tlsOptions` takes the PEM *contents* (read once here, for the first
 * handshake), `watchTls` the *paths* of the same files, which it watches
 * and reloads (a renewed certificate, a new CA bundle, a new CRL) while the
 * server runs. Give both the same material; `watchTls` refuses a server
 * whose ca or crl it would drop.
 */
export const buildWatched = (certs, logger = console) => {
  const files = { key: join(certs, 'server.key'), cert: join(certs, 'server.crt'), ca: join(certs, 'ca.crt') }
  const app = express()
  app.use(trustProxy({ trust: 'loopback', clientCert: { mode: 'optional' } }))
  routes(app)
  const contents = Object.fromEntries(Object.entries(files).map(([name, path]) => [name, readFileSync(path)]))
  const server = https.createServer(tlsOptions({ ...contents, clientCert: 'optional' }), app)
  const watcher = watchTls(server, { ...files, logger })
  server.on('close', () => watcher.close())
  return { server, watcher }
}

/** The app behind an nginx that terminates mTLS. */
export const buildBehindProxy = (proxy = '127.0.0.1') => {
  const app = express()
  app.use(trustProxy({ trust: proxy, clientCert: { mode: 'optional', forwarded: { source: 'nginx' } } }))
  routes(app)
  return http.createServer(app)
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode = 'https', certs = 'certs'] = process.argv.slice(2)
  const server =
    mode === 'proxy' ? buildBehindProxy() : mode === 'watch' ? buildWatched(certs).server : buildHttps(certs)
  const port = Number(process.env.PORT ?? (mode === 'proxy' ? 8080 : 8443))
  server.listen(port, '127.0.0.1', () => console.log(`${mode} mode on 127.0.0.1:${port}`))
}
