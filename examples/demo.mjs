/**
 * `npm run demo`: runs every section in examples/demo/ whose file name starts
 * with a number (`10-trust.mjs`, `20-https.mjs`, ...), in name order. Each
 * section exports `title` and `async run()`, starts what it needs on
 * loopback, prints its own table and throws if anything is not as expected.
 * The demo exits 0 only when every section ran as expected.
 *
 * Run one section: `node examples/demo.mjs trust` (matches file names).
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import path from 'node:path'

// `npm install` built dist/ (the `prepare` script): the demo runs that build
// and builds only when it is missing. After editing src/, `npm run build`.
const root = fileURLToPath(new URL('../', import.meta.url))
if (!existsSync(path.join(root, 'dist/esm/index.js'))) {
  console.log('demo: dist/ is missing, building it first (npm run build)')
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
}

// The script plays an attacker and a misconfigured proxy on purpose, so
// proxy-aware's SecurityWarnings are part of the show: print them on stdout
// as expected output (and count them) instead of Node's stderr default.
// Any other warning still goes to stderr.
const expectedWarnings = new Map()
process.removeAllListeners('warning')
process.on('warning', warning => {
  if (warning.name === 'SecurityWarning' && String(warning.code).startsWith('PROXY_AWARE_')) {
    expectedWarnings.set(warning.code, (expectedWarnings.get(warning.code) ?? 0) + 1)
    console.log(`  (expected) proxy-aware warned ${warning.code}: ${warning.message}`)
  } else {
    console.error(`${warning.name}: ${warning.message}`)
  }
})

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
if (expectedWarnings.size > 0) {
  const counts = [...expectedWarnings].map(([code, n]) => `${code} ×${n}`).join(', ')
  console.log(`\nproxy-aware's own warnings above were expected (${counts}): the script sends forged headers from an`)
  console.log(
    'untrusted peer and a chain whose every hop is trusted on purpose; your app logs them once per condition.',
  )
}
console.log(
  failed === 0
    ? `\ndemo: all ${files.length} section(s) ran as expected`
    : `\ndemo: ${failed} of ${files.length} section(s) FAILED`,
)
// exit even if a section left a handle open: a hang is worse than a failure
process.exit(failed === 0 ? 0 : 1)
