/**
 * Express (4 or 5) behind a reverse proxy, with proxy-aware.
 *
 *   npm run build && node examples/express.mjs
 *   curl -H 'X-Forwarded-For: 203.0.113.7' http://127.0.0.1:3001/
 *
 * TRUST (comma-separated) names the proxies in front; default `loopback`.
 * PORT defaults to 3001. In your own code, import from 'proxy-aware/express'.
 */
import express from 'express'
import { once } from 'node:events'
import { pathToFileURL } from 'node:url'
import { trustProxy } from '../dist/esm/express.js'

/** Build the app; `options` are proxy-aware's (trust is required). */
export const build = options => {
  const app = express()
  // First, before anything that reads req.ip (rate limiters, loggers). It
  // also sets Express's own 'trust proxy' to the same decision.
  app.use(trustProxy(options))
  app.get('/', (req, res) => {
    res.json({
      ip: req.ip,
      protocol: req.protocol,
      host: req.host,
      hops: req.proxyAware.hops,
      reason: req.proxyAware.reason,
      source: req.proxyAware.source,
      // Express's meaning: client first, the socket peer left out
      ips: req.ips,
    })
  })
  return app
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = build({ trust: process.env.TRUST ?? 'loopback' }).listen(Number(process.env.PORT ?? 3001), '127.0.0.1')
  await once(server, 'listening')
  console.log(`proxy-aware Express example listening on http://127.0.0.1:${server.address().port}`)
}
