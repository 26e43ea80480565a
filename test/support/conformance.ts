// The conformance cases (conformance/cases/*.json) and the runners that
// answer them: proxy-aware's core, and, for comparison, proxy-addr,
// Express's `trust proxy` and Fastify's `trustProxy`. Every runner gets the
// request the same way: the case's raw header lines, sent over a real
// socket to a node:http server (so Node joins repeated lines as it does for
// any app), with the socket's peer address and TLS flag set to the case's.
import express from 'express'
import Fastify from 'fastify'
import { readdirSync, readFileSync } from 'node:fs'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import proxyaddr from 'proxy-addr'
import { createTrustProxy } from '../../src/index.js'

export interface Case {
  id: string
  title: string
  origin: { type: string; ref: string }
  config: { trusted: string[]; headers?: ('x-forwarded' | 'forwarded')[]; maxHops?: number; forwardedHost?: boolean }
  peer: string | null
  tls?: boolean
  headers: [string, string][]
  expect: Answer & { reason: string }
  differences?: Partial<Record<Peer, string>>
}
export interface CaseFile {
  rule: string
  description: string
  cases: Case[]
}
/** What an implementation answered; a field it does not decide is absent. */
export interface Answer {
  ip?: string | null
  protocol?: 'http' | 'https'
  host?: string | null
  reason?: string
}
export type Peer = 'proxy-addr' | 'express' | 'fastify'
export const PEERS: readonly Peer[] = ['proxy-addr', 'express', 'fastify']

const dir = new URL('../../conformance/', import.meta.url)
export const schema = JSON.parse(readFileSync(new URL('schema.json', dir), 'utf8')) as object
export const caseFiles = (): CaseFile[] =>
  readdirSync(new URL('cases/', dir))
    .filter(f => f.endsWith('.json'))
    .sort()
    .map(f => JSON.parse(readFileSync(new URL(`cases/${f}`, dir), 'utf8')) as CaseFile)

/**
 * Whether a peer implementation can be asked this case at all: they read
 * X-Forwarded-* only and have no hop limit.
 */
export const applies = (c: Case): boolean =>
  (c.config.headers === undefined || (c.config.headers.length === 1 && c.config.headers[0] === 'x-forwarded')) &&
  c.config.maxHops === undefined

type Handler = (req: IncomingMessage, res: ServerResponse, c: Case) => void

/** A node:http server answering cases by index (`GET /N`), with the case's peer and TLS flag on the socket. */
const serve = async (cases: readonly Case[], handler: Handler) => {
  const server = http.createServer({ requireHostHeader: false }, (req, res) => {
    const c = cases[Number(req.url!.slice(1))]!
    Object.defineProperty(req.socket, 'remoteAddress', { value: c.peer ?? undefined, configurable: true })
    Object.defineProperty(req.socket, 'encrypted', { value: c.tls === true, configurable: true })
    try {
      handler(req, res, c)
    } catch (e) {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ error: String(e) }))
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return server
}

/** Send each case's raw request over one keep-alive connection, one at a time; the JSON answers. */
const ask = async (server: http.Server, cases: readonly Case[]): Promise<Answer[]> => {
  const { port } = server.address() as AddressInfo
  const socket = connect(port, '127.0.0.1')
  const answers: Answer[] = []
  let buffer = ''
  let answered: (() => void) | undefined
  socket.on('data', d => {
    buffer += String(d)
    const end = buffer.indexOf('\r\n\r\n')
    if (end < 0) return
    const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, end))![1])
    if (buffer.length < end + 4 + length) return
    answers.push(JSON.parse(buffer.slice(end + 4, end + 4 + length)) as Answer)
    buffer = buffer.slice(end + 4 + length)
    answered!()
  })
  const failed = new Promise<never>((_, reject) => socket.on('error', reject))
  for (const [i, c] of cases.entries()) {
    // one at a time: the peer address is set on the shared socket per request
    const done = new Promise<void>(resolve => (answered = resolve))
    socket.write(`GET /${i} HTTP/1.1\r\n${c.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`)
    await Promise.race([done, failed])
  }
  socket.end()
  return answers
}

const json = (res: ServerResponse, answer: Answer) => {
  const body = JSON.stringify(answer)
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
const hostOf = (value: string | undefined) => (value === undefined || value === '' ? null : value)

/** proxy-aware's core: the vocabulary maps one to one onto its options. */
const proxyAware: Handler = (req, res, c) => {
  const proxy = createTrustProxy({
    trust: c.config.trusted,
    headers: c.config.headers ?? ['x-forwarded'],
    maxHops: c.config.maxHops ?? 20,
    forwardedHost: c.config.forwardedHost ?? false,
  })
  const r = proxy.resolve(req)
  json(res, { ip: r.ip ?? null, protocol: r.protocol, host: r.host ?? null, reason: r.reason })
}

/** proxy-addr decides the client IP only, from X-Forwarded-For. */
const proxyAddr: Handler = (req, res, c) =>
  json(res, { ip: (proxyaddr(req, proxyaddr.compile(c.config.trusted)) as string | undefined) ?? null })

/** Express 5 with `trust proxy` set to the trusted list: req.ip, req.protocol, req.host. */
const expressApp: Handler = (req, res, c) => {
  const app = express()
  app.set('trust proxy', c.config.trusted)
  app.get('/{*any}', (rq, rs) =>
    json(rs, { ip: rq.ip ?? null, protocol: rq.protocol as 'http', host: hostOf(rq.host) }),
  )
  app(req as express.Request, res as express.Response)
}

/** Fastify 5 with `trustProxy` set to the trusted list: request.ip, protocol, host. */
const fastifyApps = new Map<string, Promise<(req: IncomingMessage, res: ServerResponse) => void>>()
const fastifyApp: Handler = (req, res, c) => {
  const key = JSON.stringify(c.config.trusted)
  let handler = fastifyApps.get(key)
  if (handler === undefined) {
    handler = (async () => {
      let route: ((req: IncomingMessage, res: ServerResponse) => void) | undefined
      const app = Fastify({
        trustProxy: c.config.trusted,
        serverFactory: h => {
          route = h
          return http.createServer()
        },
      })
      app.get('/*', (request, reply) => {
        reply.header('content-type', 'application/json')
        const body = JSON.stringify({ ip: request.ip ?? null, protocol: request.protocol, host: hostOf(request.host) })
        reply.header('content-length', Buffer.byteLength(body)).send(body)
      })
      await app.ready()
      return route!
    })()
    fastifyApps.set(key, handler)
  }
  void handler.then(h => h(req, res))
}

const RUNNERS: Record<'proxy-aware' | Peer, Handler> = {
  'proxy-aware': proxyAware,
  'proxy-addr': proxyAddr,
  'express': expressApp,
  'fastify': fastifyApp,
}

/** Run `cases` through one implementation; answers in case order. */
export const run = async (name: keyof typeof RUNNERS, cases: readonly Case[]): Promise<Answer[]> => {
  const server = await serve(cases, RUNNERS[name])
  try {
    return await ask(server, cases)
  } finally {
    server.close()
  }
}

/** The fields of `expect` an answer disagrees on (only those it decides). */
export const disagreements = (c: Case, answer: Answer): string[] =>
  (Object.keys(answer) as (keyof Answer)[]).filter(k => k in c.expect && answer[k] !== c.expect[k])
