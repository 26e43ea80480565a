// docs/platforms.md "Shared CDNs": a vendor preset AND a secret header
// (examples/origin-secret.mjs, shown in the doc byte for byte). Another
// customer of the same CDN reaches the app from the same ranges: only the
// secret tells the requests apart (issue 20 item 12).
import t from 'tap'
import { readFileSync } from 'node:fs'
// @ts-expect-error -- an example in JavaScript, without types
import { build } from '../examples/origin-secret.mjs'
import { bundledRanges, inside } from './support/presets.js'

const SECRET = 'c2VjcmV0LW9ubHktb3VyLWRpc3RyaWJ1dGlvbi1rbm93cw'
const EDGE = inside(bundledRanges('cloudfront')[0]!)
const CLIENT = '198.51.100.7'

t.test('docs/platforms.md shows examples/origin-secret.mjs as committed', async t => {
  const doc = readFileSync(new URL('../docs/platforms.md', import.meta.url), 'utf8')
  const file = readFileSync(new URL('../examples/origin-secret.mjs', import.meta.url), 'utf8')
  t.ok(doc.includes(`\`\`\`js\n${file}\`\`\``), 'the whole file, in a js block')
})

t.test('a preset and a secret: our distribution in, another customer and a direct client out', async t => {
  const app = await build(SECRET)
  t.teardown(() => app.close())
  const get = (remoteAddress: string, headers: Record<string, string>) =>
    app.inject({ url: '/', remoteAddress, headers: { 'cloudfront-viewer-address': `${CLIENT}:4431`, ...headers } })
  const ours = await get(EDGE, { 'x-origin-secret': SECRET })
  t.same([ours.statusCode, ours.json()], [200, { ip: CLIENT }], 'our distribution: the viewer address')
  // another customer's distribution: the same edge addresses, no (or a guessed) secret
  for (const headers of [{}, { 'x-origin-secret': 'guess' }, { 'x-origin-secret': `${SECRET}x` }] as Array<
    Record<string, string>
  >) {
    const theirs = await get(EDGE, headers)
    t.same([theirs.statusCode, theirs.body], [403, 'Forbidden\n'], JSON.stringify(headers))
  }
  // a direct client that learnt the secret still does not choose its IP: the preset decides
  const direct = await get('203.0.113.9', { 'x-origin-secret': SECRET })
  t.same(direct.json(), { ip: '203.0.113.9' })
})
