// secureCookies and hsts rely on Node internals (see src/response-hook-check.ts).
// Each case runs in a child process (the hook and the self-test's verdict
// are once per process) that first simulates a Node where those internals
// differ: the options must then refuse to start, naming the Node version,
// instead of running without the hook.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createTrustProxy } from '../src/index.js'
import { ServerResponse } from 'node:http'
import { secureCookiesFeature } from '../src/features/secure-cookies.js'
import { needsResponseHook, responseHookProblem, selfTest } from '../src/response/self-test.js'
import { childEnv } from './support/child-env.js'

// seven Node start-ups: more than tap's default 30 s on a busy machine
t.setTimeout(180_000)

const child = fileURLToPath(new URL('./fixtures/hook-check-child.ts', import.meta.url))
type Result = { ok?: true; name?: string; option?: string; message?: string }
// tsx, not tap's slower TypeScript loader; the child's coverage is not
// collected (see support/child-env.ts)
const run = (simulation: string, options: object[]) =>
  JSON.parse(
    execFileSync(
      process.execPath,
      ['--import', 'tsx/esm', '--enable-source-maps', child, simulation, JSON.stringify(options)],
      { encoding: 'utf8', env: childEnv() },
    ),
  ) as Result[]

t.test('this Node passes the self-test', async t => {
  t.equal(responseHookProblem(), null)
  t.doesNotThrow(() => createTrustProxy({ trust: 'loopback', secureCookies: true, hsts: true }))
  t.same(run('none', [{ secureCookies: true, hsts: true }]), [{ ok: true }])
})

// The same paths in this process (the children's coverage is not counted):
// a self-test that throws, and a compiler refusing on a failed self-test.
t.test('in process: a throwing self-test and a refusing compiler', async t => {
  const proto = ServerResponse.prototype as unknown as Record<string, unknown>
  const writeHead = Object.getOwnPropertyDescriptor(proto, 'writeHead')!
  proto.writeHead = () => {
    throw new Error('simulated')
  }
  try {
    t.equal(selfTest(), 'the self-test threw: simulated')
  } finally {
    Object.defineProperty(proto, 'writeHead', writeHead)
  }
  t.equal(selfTest(), null, 'restored')
  const refusing = needsResponseHook(secureCookiesFeature, 'send cookies without Secure', () => 'simulated problem')
  t.equal(refusing.compile({}), undefined, 'not configured: no self-test needed')
  t.throws(() => refusing.compile({ secureCookies: true }), {
    name: 'ProxyAwareConfigError',
    option: 'secureCookies',
    message: `cannot be enforced on Node ${process.version}: simulated problem. proxy-aware hooks these internals of node:http and is tested on Node 20, 22, 24 and 26, Deno 2.9 and Bun 1.4; it refuses to start rather than send cookies without Secure.`,
  })
})

const broken: [string, RegExp][] = [
  ['no-store-header', /_storeHeader \(or the response header map\) is missing/],
  ['write-head-bypasses-store-header', /no longer pass through ServerResponse\.prototype\._storeHeader/],
  ['store-header-ignores-headers', /no longer pass through ServerResponse\.prototype\._storeHeader/],
  ['write-head-throws', /the self-test threw: simulated/],
  ['h2-no-stream', /Http2ServerResponse has no stream\.respond/],
  ['h2-write-head-bypasses-respond', /no longer pass through res\.stream\.respond/],
]

for (const [simulation, why] of broken) {
  t.test(`a Node where ${simulation}: secureCookies and hsts refuse to start`, async t => {
    const options: [string, string][] = [
      ['secureCookies', 'send cookies without Secure'],
      ['hsts', 'send https responses without Strict-Transport-Security'],
    ]
    // options that do not edit response headers are unaffected
    const results = run(simulation, [
      ...options.map(([o]) => ({ [o]: true })),
      { httpsRedirect: { host: 'example.com' } },
    ])
    t.same(results.pop(), { ok: true }, 'httpsRedirect alone starts')
    for (const [i, [option, without]] of options.entries()) {
      const r = results[i]!
      t.equal(r.name, 'ProxyAwareConfigError', option)
      t.equal(r.option, option)
      t.match(r.message, `"${option}" cannot be enforced on Node ${process.version}: `)
      t.match(r.message, why)
      t.match(
        r.message,
        `tested on Node 20, 22, 24 and 26, Deno 2.9 and Bun 1.4; it refuses to start rather than ${without}.`,
      )
    }
  })
}
