/**
 * Fastify terminating mTLS itself: `requestCert` with an explicit `ca`,
 * `rejectUnauthorized: false` so proxy-aware answers a clear 403 (with the
 * reason in the log) instead of a TLS alert.
 *
 *   sh make-certs.sh certs && npm run build (at the repo root)
 *   node server.mjs certs
 *   curl --cacert certs/ca.crt --cert certs/client.crt --key certs/client.key https://localhost:8443/
 *   curl --cacert certs/ca.crt https://localhost:8443/            # 403
 *   curl --cacert certs/ca.crt https://localhost:8443/healthz     # 200: route opts out
 *
 * In your app, import from 'proxy-aware/fastify'; this example uses the
 * repository's build.
 */
import Fastify from 'fastify'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import trustProxy from '../../dist/esm/fastify.js'

/** Build the app from a folder made by make-certs.sh. */
export const build = async (certs, { logger = false } = {}) => {
  const read = name => readFileSync(join(certs, name))
  const app = Fastify({
    logger,
    https: {
      key: read('server.key'),
      cert: read('server.crt'),
      ca: read('ca.crt'), // explicit: without it Node trusts every public CA
      requestCert: true,
      rejectUnauthorized: false, // let proxy-aware answer 403 with a reason
    },
  })
  await app.register(trustProxy, {
    trust: 'loopback',
    clientCert: {
      mode: 'required',
      allow: { uri: ['spiffe://example.org/ns/prod/sa/web'] },
    },
  })
  app.get('/', async request => ({
    hello: request.clientCert.san.uri[0],
    fingerprint256: request.clientCert.fingerprint256,
    validTo: request.clientCert.validTo,
  }))
  // health checks come without a certificate
  app.get('/healthz', { config: { clientCert: false } }, async () => 'ok')
  return app
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await build(process.argv[2] ?? 'certs', { logger: true })
  await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 8443) })
}
