// docs/deployments.md shows every recipe file byte for byte, and every
// recipe file is shown and started by a test: the guide carries no
// configuration that was never run.
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { recipeText } from './fixtures/deployments.js'

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url))
const doc = readFileSync(root('docs/deployments.md'), 'utf8')
const files = readdirSync(root('docs/deployments'), { recursive: true, withFileTypes: true })
  .filter(d => d.isFile())
  .map(d => `${d.parentPath.slice(root('docs/deployments').length + 1)}/${d.name}`)
  .sort()
const tests = readdirSync(root('test'))
  .filter(f => f.startsWith('deploy-') && f !== 'deploy-docs.ts')
  .map(f => readFileSync(root(`test/${f}`), 'utf8'))
  .join('\n')

// <!-- include: FILE --> link, then a fenced block holding the file, then <!-- /include -->
const INCLUDE =
  /<!-- include: (\S+) -->\n\[`docs\/deployments\/\1`\]\(deployments\/\1\)\n\n```[a-z]*\n([^]*?)```\n<!-- \/include -->/g
const included = new Map([...doc.matchAll(INCLUDE)].map(m => [m[1]!, m[2]!]))

t.equal(doc.split('<!-- include:').length - 1, included.size, 'every include marker is well formed')
t.ok(files.length >= 10, `recipe files found: ${files.join(', ')}`)
for (const file of files) {
  t.equal(included.get(file), recipeText(file), `docs/deployments.md shows ${file} as committed`)
  t.ok(tests.includes(`'${file}'`), `a test starts ${file}`)
}
for (const file of included.keys()) t.ok(files.includes(file), `${file} exists`)
