/**
 * `npm run bench`: builds, then runs every benchmark in this folder (one
 * file per question) and prints the tables the README quotes, with the
 * machine, Node version and date they were measured on.
 */
import os from 'node:os'
import * as core from './resolve-vs-proxy-addr.mjs'
import * as fastify from './fastify-route.mjs'
import * as express from './express-route.mjs'
import * as https from './https.mjs'
import * as proxyConnection from './proxy-protocol-connection.mjs'

const cpus = os.cpus()
console.log(
  `Machine: ${cpus.length} x ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()} (shared, noisy: read the ratios, not the absolute times)`,
)
console.log(`Node: ${process.version}`)
console.log(`Date: ${new Date().toISOString()}`)
console.log('Command: npm run bench\n')

const started = Date.now()
for (const bench of [core, fastify, express, https, proxyConnection]) {
  console.log(`## ${bench.title}\n`)
  await bench.run()
  console.log('')
}
console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`)
