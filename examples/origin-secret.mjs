/**
 * A vendor preset AND a secret only your CDN configuration knows. The
 * preset decides which peers' headers are read; the hook refuses every
 * request without the secret, so another customer of the same CDN (whose
 * requests come from the same ranges) is refused. Set the header in the
 * CDN (CloudFront: an origin custom header) and keep the value out of logs.
 *
 *   npm run build && ORIGIN_SECRET=... node examples/origin-secret.mjs
 */
import { timingSafeEqual } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import trustProxy from '../dist/esm/fastify.js'

/** Build the app behind CloudFront; `secret` is the origin custom header's value. */
export const build = async secret => {
  const expected = Buffer.from(secret)
  const app = Fastify()
  await app.register(trustProxy, { trust: ['cloudfront'], clientIpHeader: 'cloudfront-viewer-address' })
  app.addHook('onRequest', async (request, reply) => {
    const got = Buffer.from(String(request.headers['x-origin-secret'] ?? ''))
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      return reply.code(403).send('Forbidden\n')
    }
  })
  app.get('/', request => ({ ip: request.ip }))
  return app
}

/* c8 ignore start -- run as a program (node examples/origin-secret.mjs); the test imports build() */
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await build(process.env.ORIGIN_SECRET ?? '')
  const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) })
  console.log(`proxy-aware origin-secret example listening on ${url}`)
}
/* c8 ignore stop */
