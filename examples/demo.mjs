/**
 * `npm run demo`: runs every section in examples/demo/ whose file name starts
 * with a number (`10-trust.mjs`, `20-https.mjs`, ...), in name order. Each
 * section exports `title` and `async run()`, starts what it needs on
 * loopback, prints its own table and throws if anything is not as expected.
 * The demo exits 0 only when every section ran as expected.
 *
 * Run one section: `node examples/demo.mjs trust` (matches file names).
 */
import { readdir } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import path from 'node:path'

const dir = fileURLToPath(new URL('./demo/', import.meta.url))
const filter = process.argv[2]
const files = (await readdir(dir))
  .filter(f => /^\d+-.*\.mjs$/.test(f) && (filter === undefined || f.includes(filter)))
  .sort()

if (files.length === 0) {
  console.error(`demo: no section in ${dir}${filter === undefined ? '' : ` matches "${filter}"`}`)
  process.exit(1)
}

let failed = 0
for (const file of files) {
  const section = await import(pathToFileURL(path.join(dir, file)).href)
  console.log(`\n=== ${section.title} (${file}) ===\n`)
  let timer
  try {
    await Promise.race([
      section.run(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('section did not finish within 60 s')), 60_000)
      }),
    ])
  } catch (err) {
    failed++
    console.error(`\nFAILED: ${file}\n${err?.stack ?? err}`)
  } finally {
    clearTimeout(timer)
  }
}
console.log(
  failed === 0
    ? `\ndemo: all ${files.length} section(s) ran as expected`
    : `\ndemo: ${failed} of ${files.length} section(s) FAILED`,
)
// exit even if a section left a handle open: a hang is worse than a failure
process.exit(failed === 0 ? 0 : 1)
