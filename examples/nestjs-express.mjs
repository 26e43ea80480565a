/**
 * NestJS on @nestjs/platform-express behind a reverse proxy.
 *
 *   npm run build && node examples/nestjs-express.mjs
 *   curl -H 'X-Forwarded-For: 203.0.113.7' http://127.0.0.1:3005/
 *
 * TRUST (comma-separated) names the proxies in front; default `loopback`.
 * PORT defaults to 3005. In your own code, import from 'proxy-aware/express'.
 */
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { trustProxy } from '../dist/esm/express.js'
import { AppModule } from './nestjs-app.mjs'

const app = await NestFactory.create(AppModule, new ExpressAdapter())
// global middleware, before listen: it runs before every route Nest adds
app.use(trustProxy({ trust: process.env.TRUST ?? 'loopback', secureCookies: true }))
await app.listen(Number(process.env.PORT ?? 3005), '127.0.0.1')
console.log(`proxy-aware NestJS (Express) example listening on ${await app.getUrl()}`)
