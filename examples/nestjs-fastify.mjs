/**
 * NestJS on @nestjs/platform-fastify behind a reverse proxy.
 *
 *   npm run build && node examples/nestjs-fastify.mjs
 *   curl -H 'X-Forwarded-For: 203.0.113.7' http://127.0.0.1:3006/
 *
 * TRUST (comma-separated) names the proxies in front; default `loopback`.
 * PORT defaults to 3006. In your own code, import from 'proxy-aware/fastify'.
 */
import { NestFactory } from '@nestjs/core'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import trustProxy from '../dist/esm/fastify.js'
import { AppModule } from './nestjs-app.mjs'

// no `trustProxy` option on the adapter: proxy-aware decides
const app = await NestFactory.create(AppModule, new FastifyAdapter())
// on Nest's root Fastify instance, before listen (Nest adds its routes then)
await app.register(trustProxy, { trust: process.env.TRUST ?? 'loopback', secureCookies: true })
await app.listen(Number(process.env.PORT ?? 3006), '127.0.0.1')
console.log(`proxy-aware NestJS (Fastify) example listening on ${await app.getUrl()}`)
