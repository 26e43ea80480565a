// Every relative link in README.md, CHANGELOG.md and docs/*.md points at a
// file that exists, and every #anchor at a heading of the target file, with
// GitHub's slug rules (github-slugger: lower-case, drop punctuation, a space
// becomes '-', repeats get -1, -2, ...). And every export of every entry
// point in package.json has its entry in docs/api.md and its line in README.md.
import t from 'tap'
import ts from 'typescript'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Markdown lines outside fenced code blocks (a `# comment` in a YAML block is no heading). */
const prose = (text: string): string[] => {
  const out: string[] = []
  let fence: string | undefined
  for (const line of text.split('\n')) {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line)
    if (m) {
      const mark = m[1] as string
      if (fence === undefined) fence = mark
      else if (mark[0] === fence[0] && mark.length >= fence.length) fence = undefined
      continue
    }
    if (fence === undefined) out.push(line)
  }
  return out
}

/** GitHub's anchor for a heading's text. */
export const slug = (heading: string): string =>
  heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link reads as its text
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')

/** Every anchor a Markdown text defines, and the slugs several headings share. */
export const anchors = (text: string): Set<string> => anchorsAndRepeats(text).anchors

const anchorsAndRepeats = (text: string): { anchors: Set<string>; repeated: Set<string> } => {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  const repeated = new Set<string>()
  for (const line of prose(text)) {
    const m = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!m) continue
    const base = slug(m[1] as string)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
    if (n > 0) repeated.add(base)
  }
  return { anchors: out, repeated }
}

/** Every link target in a Markdown text: inline links and reference definitions. */
export const links = (text: string): string[] => {
  const out: string[] = []
  for (const line of prose(text)) {
    const bare = line.replace(/`[^`]*`/g, '``') // links inside code spans are not links
    for (const m of bare.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1] as string)
    const def = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(bare)
    if (def) out.push(def[1] as string)
  }
  return out
}

/** Problems with the relative links of `file` (absolute path), given a reader. */
export const check = (file: string, read: (path: string) => string | undefined): string[] => {
  const text = read(file) ?? ''
  const problems: string[] = []
  for (const target of links(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // https:, mailto:
    const hash = target.indexOf('#')
    const path = hash === -1 ? target : target.slice(0, hash)
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1))
    const dest = path === '' ? file : resolve(dirname(file), decodeURIComponent(path))
    const body = read(dest)
    const where = `${relative(root, file)}: ${target}`
    if (body === undefined) {
      problems.push(`${where}: no such file`)
    } else if (anchor !== undefined) {
      if (!dest.endsWith('.md')) problems.push(`${where}: anchor into a file that is not Markdown`)
      else {
        const { anchors: defined, repeated } = anchorsAndRepeats(body)
        if (!defined.has(anchor)) problems.push(`${where}: no heading with anchor #${anchor}`)
        // `clientCertPolicy` and `ClientCertPolicy` share a slug: the link goes to whichever comes first
        else if (repeated.has(anchor)) problems.push(`${where}: several headings have anchor #${anchor}`)
      }
    }
  }
  return problems
}

/** Reads files from disk: a directory exists with empty text, a missing path is undefined. */
const disk = (path: string): string | undefined => {
  if (!existsSync(path)) return undefined
  return statSync(path).isDirectory() ? '' : readFileSync(path, 'utf8')
}

t.test('slugs follow GitHub', async t => {
  const cases: Array<[string, string]> = [
    ['Client certificates (mTLS)', 'client-certificates-mtls'],
    ['HTTPS enforcement: redirects, HSTS and Secure cookies', 'https-enforcement-redirects-hsts-and-secure-cookies'],
    ['`httpsRedirect`', 'httpsredirect'],
    ['`proxy-aware/fastify`', 'proxy-awarefastify'],
    ['`createTrustProxy(options)`', 'createtrustproxyoptions'],
    ['`PRESETS`', 'presets'],
    ['What is not built yet', 'what-is-not-built-yet'],
    ['Fastify, terminating mTLS', 'fastify-terminating-mtls'],
    ['A — B', 'a--b'],
    ['snake_case [link](x.md)', 'snake_case-link'],
  ]
  for (const [heading, expected] of cases) t.equal(slug(heading), expected, heading)
  t.same([...anchors('# A\n## A\n```\n# not a heading\n```\n### A #\n')], ['a', 'a-1', 'a-2'])
})

t.test('the checker finds broken links', async t => {
  const files: Record<string, string> = {
    [join(root, 'x.md')]: [
      '# Top',
      '[ok](#top) [ok](y.md#sub-part) [ok](dir) [ok](https://example.com/#nothing) `[code](nowhere.md)`',
      '[bad](#nope) [bad](missing.md) [bad](y.md#top) [bad](dir#x) [bad](y.md#f) [ok](y.md#f-1)',
      '```',
      '[in a block](missing2.md)',
      '```',
      '[ref]: gone.md',
    ].join('\n'),
    [join(root, 'y.md')]: '# Y\n## Sub part\n## `f`\n## `F`\n',
    [join(root, 'dir')]: '',
  }
  t.same(
    check(join(root, 'x.md'), path => files[path]),
    [
      'x.md: #nope: no heading with anchor #nope',
      'x.md: missing.md: no such file',
      'x.md: y.md#top: no heading with anchor #top',
      'x.md: dir#x: anchor into a file that is not Markdown',
      'x.md: y.md#f: several headings have anchor #f',
      'x.md: gone.md: no such file',
    ],
  )
})

t.test('README, CHANGELOG and docs/ links resolve', async t => {
  const docs = readdirSync(join(root, 'docs'))
    .filter(f => f.endsWith('.md'))
    .map(f => join(root, 'docs', f))
  const files = [join(root, 'README.md'), join(root, 'CHANGELOG.md'), ...docs]
  t.ok(docs.length > 0, 'docs/ has pages')
  let count = 0
  for (const file of files) count += links(disk(file) ?? '').length
  t.ok(count > 20, `${count} links read`)
  t.same(
    files.flatMap(file => check(file, disk)),
    [],
  )
})

/**
 * The names a module exports, types included, read from its syntax (fast:
 * no type checking); `export * from` is followed.
 */
const exportNames = (file: string): string[] => {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
  const names: string[] = []
  const exported = (node: ts.Node) =>
    ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some(m => m.kind === ts.SyntaxKind.ExportKeyword)
  for (const node of source.statements) {
    if (ts.isExportDeclaration(node)) {
      if (node.exportClause && ts.isNamedExports(node.exportClause))
        names.push(...node.exportClause.elements.map(e => e.name.text))
      else if (node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        names.push(...exportNames(resolve(dirname(file), node.moduleSpecifier.text.replace(/\.js$/, '.ts'))))
      }
    } else if (exported(node)) {
      if (ts.isVariableStatement(node)) {
        for (const d of node.declarationList.declarations) if (ts.isIdentifier(d.name)) names.push(d.name.text)
      } else if (
        (ts.isFunctionDeclaration(node) ||
          ts.isClassDeclaration(node) ||
          ts.isInterfaceDeclaration(node) ||
          ts.isTypeAliasDeclaration(node) ||
          ts.isEnumDeclaration(node)) &&
        node.name
      ) {
        names.push(node.name.text)
      }
    }
  }
  return [...new Set(names)].filter(n => n !== 'default')
}

/** The names each entry point of package.json (tshy's map) exports. */
const exportsByEntry = (): Map<string, string[]> => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string
    tshy: { exports: Record<string, string> }
  }
  const out = new Map<string, string[]>()
  for (const [subpath, file] of Object.entries(pkg.tshy.exports)) {
    if (!file.endsWith('.ts')) continue
    out.set(subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`, exportNames(join(root, file)))
  }
  return out
}

/** The text of each `## \`entry\`` section of docs/api.md. */
const apiSections = (text: string): Map<string, string> => {
  const out = new Map<string, string>()
  let current: string | undefined
  for (const line of text.split('\n')) {
    const m = /^## `([^`]+)`/.exec(line)
    if (m) current = m[1] as string
    else if (line.startsWith('## ')) current = undefined
    else if (current !== undefined) out.set(current, (out.get(current) ?? '') + line + '\n')
  }
  return out
}

t.test('every export is documented', async t => {
  const byEntry = exportsByEntry()
  t.ok(byEntry.size >= 3, 'entry points read')
  const core = byEntry.get('proxy-aware') ?? []
  for (const name of ['PRESETS', 'createTrustProxy', 'Resolution', 'ProxyAwareConfigError'])
    t.ok(core.includes(name), `the core exports ${name}`)
  const api = apiSections(readFileSync(join(root, 'docs', 'api.md'), 'utf8'))
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const missing: string[] = []
  for (const [entry, names] of byEntry) {
    const section = api.get(entry)
    if (section === undefined) {
      missing.push(`docs/api.md: no section for ${entry}`)
      continue
    }
    if (!readme.includes(`\`${entry}\``)) missing.push(`README.md: no mention of ${entry}`)
    for (const name of names) {
      // an entry is a heading, or a mention in the entry point's re-exports
      if (!new RegExp(`^### \`${name}\``, 'm').test(section) && !section.includes(`\`${name}\``))
        missing.push(`docs/api.md: ${entry} ${name}`)
      if (!readme.includes(`\`${name}`)) missing.push(`README.md: ${entry} ${name}`)
    }
  }
  t.same(missing, [])
})
