// Untrusted text printed or logged: every control character escaped
// (issue 20 item 10). A forged header, an option value or a mirror's body
// with C1 controls (U+009B is a one-byte CSI), DEL, separators or bidi
// overrides must not reach a terminal or a log as they are.
import t from 'tap'
import fc from 'fast-check'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import Fastify from 'fastify'
import type { Io } from '../src/cli/command.js'
import { main } from '../src/cli/main.js'
import { escapeControls, escapeText, safeJson } from '../src/core/escape.js'
import { show } from '../src/core/errors.js'
import { createTrustProxy, formatExplanation } from '../src/index.js'
import trustProxyPlugin from '../src/fastify.js'
import { bundledRanges, inside } from './support/presets.js'

/** Any character a terminal or log viewer may act on (the oracle: Unicode categories). */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u
/** The same, for text that carries our own colour escapes: ESC followed by `[`. */
const UNSAFE_BUT_SGR = new RegExp(`(?!${String.fromCharCode(27)}\\[[0-9;]*m)[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}]`, 'u')

const HOSTILE = 'https\u009b2J\u001b[31m\u007f\u2028\u202e\u2066x\u200b\ud800'

t.test('show, escapeText and safeJson: no unsafe character out, the same text back', async t => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), s => {
      const shown = show(s)
      const inner = escapeText(s)
      return (
        !UNSAFE.test(shown) &&
        !UNSAFE.test(inner) &&
        JSON.parse(shown) === s &&
        JSON.parse(`"${inner}"`) === s &&
        escapeControls(shown) === shown
      )
    }),
    { numRuns: 2000 },
  )
  fc.assert(
    fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (v, s) => {
      const text = safeJson({ v, s }, 2)
      return !UNSAFE.test(text.replaceAll('\n', ' ')) && JSON.stringify(JSON.parse(text)) === JSON.stringify({ v, s })
    }),
  )
  // C1 and DEL, which JSON.stringify leaves alone
  t.equal(show('a\u009bb\u007f'), '"a\\u009bb\\u007f"')
  // past U+FFFF: a format character as its surrogate pair (U+E0001 LANGUAGE TAG)
  t.equal(escapeControls('\u{e0001}'), '\\udb40\\udc01')
  t.equal(show(['\u0085']), '["\\u0085"]')
  t.equal(show({ toString: undefined, toJSON: () => undefined }), '[object Object]')
  const cycle: Record<string, unknown> = {}
  cycle.self = cycle
  t.equal(show(cycle), '[object Object]')
  t.equal(safeJson(undefined), 'undefined')
})

t.test('formatExplanation escapes a forged X-Forwarded-Proto, X-Forwarded-Host and Host', async t => {
  const proxy = createTrustProxy({ trust: 'loopback', forwardedHost: true })
  const e = proxy.explain({
    headers: {
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': `${HOSTILE}, https`,
      'x-forwarded-host': HOSTILE,
    },
    socket: { remoteAddress: '127.0.0.1' },
  })
  for (const color of [false, true]) {
    const text = formatExplanation(e, { color })
    t.notOk(UNSAFE_BUT_SGR.test(text.replaceAll('\n', ' ')), `color ${color}: no control character but our colours`)
    t.match(
      text,
      /X-Forwarded-Proto: "https\\u009b2J\\u001b\[31m\\u007f\\u2028\\u202e\\u2066x\\u200b\\ud800, https" \(entry "https"\)/,
    )
  }
  // an Explanation a caller built: its every text is escaped too
  const own = formatExplanation({
    ...e,
    client: '\u009b',
    reason: 'end-of-chain\u009b' as never,
    why: 'why\u009b',
    host: { value: 'h\u009b', from: 'host\u009b', raw: 'h\u009b' },
    hops: [{ hop: 0, address: 'a\u009b', from: 'x\u009b', trusted: true, by: { kind: 'address', entry: 'e\u009b' } }],
  })
  t.notOk(UNSAFE.test(own.replaceAll('\n', ' ')))
})

/** Run main() here, with streams that record. */
const run = async (args: string[], cwd = mkdtempSync(join(tmpdir(), 'proxy-aware-escape-'))) => {
  const out = new PassThrough()
  const err = new PassThrough()
  let stdout = ''
  let stderr = ''
  out.on('data', d => (stdout += String(d)))
  err.on('data', d => (stderr += String(d)))
  const io: Io = { stdout: out, stderr: err, env: {}, cwd }
  const code = await main(args, io)
  return { code, stdout, stderr, cwd }
}

t.test('the CLI: explain (text and JSON), a bad header line, check with a hostile option value', async t => {
  const header = ['-H', `X-Forwarded-For: 203.0.113.7`, '-H', `X-Forwarded-Proto: ${HOSTILE}, https`]
  const text = await run(['explain', '-t', 'loopback', '-p', '127.0.0.1', ...header])
  t.equal(text.code, 0)
  t.match(text.stdout, 'https\\u009b2J')
  t.notOk(UNSAFE.test(text.stdout.replaceAll('\n', ' ')), 'explain: no control character')
  const json = await run(['explain', '-t', 'loopback', '-p', '127.0.0.1', '--json', ...header])
  t.notOk(UNSAFE.test(json.stdout.replaceAll('\n', ' ')), 'explain --json: no control character')
  t.equal(JSON.parse(json.stdout).protocol.raw, `${HOSTILE}, https`, 'still JSON, with the same value')
  const bad = await run(['explain', '-p', '127.0.0.1', '-H', `\u009b${HOSTILE}`])
  t.equal(bad.code, 2)
  t.notOk(UNSAFE.test(bad.stderr.replaceAll('\n', ' ')), 'a usage error quoting the argument')

  const cwd = mkdtempSync(join(tmpdir(), 'proxy-aware-escape-'))
  writeFileSync(join(cwd, 'bad.json'), JSON.stringify({ trust: [`10.0.0.0/8${HOSTILE}`] }))
  writeFileSync(join(cwd, 'junk.json'), `{"trust": ${HOSTILE}}`)
  for (const file of ['bad.json', 'junk.json']) {
    const check = await run(['check', file], cwd)
    t.equal(check.code, 1, file)
    t.notOk(UNSAFE.test(check.stderr.replaceAll('\n', ' ')), `${file}: no control character in ${check.stderr}`)
  }
})

t.test("another Front Door profile's X-Azure-FDID is logged escaped", async t => {
  const lines: string[] = []
  const app = Fastify({
    logger: { level: 'warn', stream: { write: (l: string) => void lines.push(l) } },
  })
  await app.register(trustProxyPlugin, {
    trust: ['azure-front-door'],
    azureFrontDoorId: '55ce4ed1-4b06-4bf1-b40e-4638452104da',
  })
  app.get('/', () => 'ok')
  t.teardown(() => app.close())
  const res = await app.inject({
    url: '/',
    remoteAddress: inside(bundledRanges('azure-front-door')[0]!),
    headers: { 'x-azure-fdid': HOSTILE },
  })
  t.equal(res.statusCode, 403)
  const line = lines.find(l => l.includes('another X-Azure-FDID'))
  t.ok(line, 'logged')
  t.notOk(UNSAFE.test(line!.trimEnd()), `no control character: ${line}`)
  t.equal(JSON.parse(line!).azureFrontDoorId, escapeText(HOSTILE))
})
