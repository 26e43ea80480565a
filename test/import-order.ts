// Every module of src/ imported first, in a fresh process: an import cycle
// that reads a binding before its module has run (`ReferenceError: Cannot
// access 'x' before initialization`) fails here, whatever order the entry
// points happen to import things in. The modules are transpiled once (as
// tshy's tsc would emit them) so each child is a plain `node`.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { childEnv } from './support/child-env.js'

// one process per module, on a machine that may be busy
t.setTimeout(5 * 60_000)

const src = fileURLToPath(new URL('../src', import.meta.url))
const modules = readdirSync(src, { recursive: true, encoding: 'utf8' })
  // cli/bin.ts is the executable: importing it runs the command (it only
  // imports cli/main.ts, which is imported first here like the rest)
  .filter(f => f.endsWith('.ts') && f !== join('cli', 'bin.ts'))
  .sort()

const importFirst = (file: string) =>
  new Promise<{ code: number; stderr: string }>(resolve => {
    const code = `await import(${JSON.stringify(pathToFileURL(file).href)})`
    execFile(process.execPath, ['--input-type=module', '-e', code], { env: childEnv() }, (err, _stdout, stderr) =>
      resolve({ code: err === null ? 0 : 1, stderr }),
    )
  })

t.test('each src module loads when imported first', async t => {
  t.ok(modules.length >= 20, `found ${modules.length} modules`)
  // inside the project, so that dependencies resolve from its node_modules
  const out = t.testdir({})
  for (const m of modules) {
    const { outputText } = ts.transpileModule(readFileSync(join(src, m), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    })
    mkdirSync(dirname(join(out, m)), { recursive: true })
    writeFileSync(join(out, m.replace(/\.ts$/, '.js')), outputText)
  }
  for (let i = 0; i < modules.length; i += 4) {
    const batch = modules.slice(i, i + 4)
    const results = await Promise.all(batch.map(m => importFirst(join(out, m.replace(/\.ts$/, '.js')))))
    batch.forEach((m, j) => t.same(results[j], { code: 0, stderr: '' }, m))
  }
})
