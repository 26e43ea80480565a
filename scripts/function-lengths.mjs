#!/usr/bin/env node
// The longest functions of src/ (issue 25: setup functions that fit a
// screen), read with the TypeScript compiler's parser: each function,
// method, arrow function and class body whose own lines exceed --max N
// (default 60: a screen), longest first. A function's own lines do not
// count the functions nested in it. With --check (npm run lint), exit 1
// when one that is not in EXEMPT exceeds --max.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'

const args = process.argv.slice(2)
const at = args.indexOf('--max')
const max = at < 0 ? 60 : Number(args[at + 1])
if (!Number.isInteger(max) || max < 0) throw new Error(`--max must be a whole number of lines, got ${args[at + 1]}`)
const check = args.includes('--check')
const root = new URL('..', import.meta.url).pathname
const files = dir =>
  readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : /\.(c|m)?ts$/.test(name) ? [path] : []
  })

/**
 * Longer than a screen on purpose: per-request parsers written by hand for
 * speed (CONTRIBUTING.md, "What a change must come with"), each one pass over its input read
 * top to bottom; split, they would pass their cursor state around.
 */
const EXEMPT = new Set([
  'src/proxy-protocol/v1.ts parseV1',
  'src/proxy-protocol/v2.ts parseTlvs',
  'src/parse/forwarded.ts parseForwarded',
])

const rows = []
for (const file of files(join(root, 'src'))) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const line = pos => source.getLineAndCharacterOfPosition(pos).line
  const span = node => line(node.getEnd()) - line(node.getStart(source)) + 1
  const visit = (node, owner) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const name = node.name?.getText(source) ?? nameOf(node)
      const fn = { file: relative(root, file), name, at: line(node.getStart(source)) + 1, lines: span(node) }
      rows.push(fn)
      if (owner) owner.lines -= fn.lines - 1
      ts.forEachChild(node, child => visit(child, fn))
    } else ts.forEachChild(node, child => visit(child, owner))
  }
  visit(source, undefined)
}
function nameOf(node) {
  const p = node.parent
  if (p && (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)))
    return p.name.getText()
  if (p && ts.isCallExpression(p)) return `(argument of ${p.expression.getText().slice(0, 40)})`
  return '(anonymous)'
}
const long = rows.filter(r => r.lines > max).sort((a, b) => b.lines - a.lines)
const exempt = r => EXEMPT.has(`${r.file} ${r.name}`)
for (const r of long)
  console.log(`${String(r.lines).padStart(4)}  ${r.file}:${r.at}  ${r.name}${exempt(r) ? '  (exempt)' : ''}`)
console.log(
  `${long.length} of ${rows.length} functions longer than ${max} lines (own lines, nested functions not counted)`,
)
if (check && long.some(r => !exempt(r))) {
  console.log(
    `Split the functions above that are not exempt into named parts (issue 25), at most ${max} own lines each.`,
  )
  process.exit(1)
}
