// conformance/: the decision rules as language-neutral cases. Every case
// file is valid against conformance/schema.json; proxy-aware answers every
// case as expected; proxy-addr, Express's `trust proxy` and Fastify's
// `trustProxy` are asked the cases they can be asked, and each of their
// disagreements must be explained in the case (`differences`), and each
// explanation must still be needed. docs/conformance.md holds the table
// this produces (UPDATE_CONFORMANCE=1 rewrites it).
import { Ajv2020 } from 'ajv/dist/2020.js'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import t from 'tap'
import { type Answer, applies, caseFiles, disagreements, PEERS, type Peer, run, schema } from './support/conformance.js'

const files = caseFiles()
const all = files.flatMap(f => f.cases.map(c => ({ rule: f.rule, c })))

t.test('every case file is valid against the schema, ids are unique', async t => {
  const validate = new Ajv2020({ allErrors: true, strict: true, strictTuples: false }).compile(schema)
  for (const f of files) t.ok(validate(f), `${f.rule}: ${JSON.stringify(validate.errors)}`)
  const ids = all.map(({ c }) => c.id)
  t.same(
    ids.filter((id, i) => ids.indexOf(id) !== i),
    [],
    'no id twice',
  )
  t.same(new Set(files.map(f => f.rule)).size, files.length, 'one file per rule')
  // the validator itself refuses a broken case (it is not a check that cannot fail)
  const broken = structuredClone(files[0]!)
  ;(broken.cases[0] as unknown as Record<string, unknown>).expect = { ip: 1 }
  t.notOk(validate(broken), 'a case with a bad expect is refused')
})

const ours = await run(
  'proxy-aware',
  all.map(({ c }) => c),
)

t.test('proxy-aware answers every case as expected', async t => {
  for (const [i, { c }] of all.entries()) t.same(ours[i], c.expect, `${c.id}: ${c.title}`)
})

/** Per rule and implementation: [agree, asked]. */
type Tally = Record<string, Record<'proxy-aware' | Peer, [number, number]>>

t.test('proxy-addr, Express and Fastify: every difference explained, every explanation needed', async t => {
  const tally: Tally = {}
  const notes: string[] = []
  for (const { rule } of all)
    tally[rule] = { 'proxy-aware': [0, 0], 'proxy-addr': [0, 0], 'express': [0, 0], 'fastify': [0, 0] }
  for (const [i, { rule, c }] of all.entries()) {
    const row = tally[rule]!['proxy-aware']
    row[1]++
    if (disagreements(c, ours[i]!).length === 0) row[0]++
  }
  const asked = all.filter(({ c }) => applies(c))
  for (const peer of PEERS) {
    const answers = await run(
      peer,
      asked.map(({ c }) => c),
    )
    for (const [i, { rule, c }] of asked.entries()) {
      const answer = answers[i] as Answer & { error?: string }
      const off = answer.error === undefined ? disagreements(c, answer) : ['error']
      const why = c.differences?.[peer]
      const row = tally[rule]![peer]
      row[1]++
      if (off.length === 0) {
        row[0]++
        t.equal(why, undefined, `${c.id}: ${peer} agrees, so differences.${peer} is stale`)
        continue
      }
      t.type(why, 'string', `${c.id}: ${peer} differs on ${off.join(', ')} (${JSON.stringify(answer)}): explain it`)
      const got = off.map(k =>
        k === 'error' ? `error ${answer.error}` : `${k} ${JSON.stringify(answer[k as keyof Answer])}`,
      )
      notes.push(`| \`${c.id}\` | ${peer} | ${got.join(', ')} | ${why ?? '(unexplained)'} |`)
    }
  }
  for (const { c } of all.filter(({ c }) => !applies(c))) {
    t.equal(c.differences, undefined, `${c.id}: the peers are not asked this case, so it explains no difference`)
  }
  const table = render(tally, notes, asked.length)
  const doc = new URL('../docs/conformance.md', import.meta.url)
  const text = readFileSync(doc, 'utf8')
  const start = text.indexOf('<!-- table:start -->')
  const end = text.indexOf('<!-- table:end -->')
  t.ok(start > 0 && end > start, 'docs/conformance.md has the table markers')
  const fresh = `${text.slice(0, start)}<!-- table:start -->\n${table}<!-- table:end -->${text.slice(end + '<!-- table:end -->'.length)}`
  if (process.env.UPDATE_CONFORMANCE === '1') writeFileSync(doc, fresh)
  t.equal(text, fresh, 'docs/conformance.md shows the table these runs produce (UPDATE_CONFORMANCE=1 rewrites it)')
})

const VERSIONS = ['proxy-addr', 'express', 'fastify']
  .map(name => `${name} ${(createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version}`)
  .join(', ')

const render = (tally: Tally, notes: string[], asked: number) => {
  const counts = (rule: string) => all.filter(a => a.rule === rule).length
  const cell = ([agree, n]: [number, number]) => (n === 0 ? 'not asked' : `${agree} / ${n}`)
  const rows = Object.keys(tally)
    .sort()
    .map(
      rule =>
        `| ${rule} | ${counts(rule)} | ${(['proxy-aware', ...PEERS] as const).map(p => cell(tally[rule]![p])).join(' | ')} |`,
    )
  return [
    `${all.length} cases in ${files.length} files; the peers were asked the ${asked} that read X-Forwarded-* with no hop limit (they read nothing else). Versions: ${VERSIONS}.`,
    '',
    '| rule | cases | proxy-aware | proxy-addr (ip only) | Express 5 `trust proxy` | Fastify 5 `trustProxy` |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    "Every difference, with the reason (from the case's `differences`):",
    '',
    '| case | implementation | answered | why |',
    '|---|---|---|---|',
    ...notes,
    '',
  ].join('\n')
}
