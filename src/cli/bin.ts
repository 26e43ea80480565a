#!/usr/bin/env node
// The `proxy-aware` executable (package.json "bin"): main() on this process.
import { main } from './main.js'

main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
}).then(
  code => {
    process.exitCode = code
  },
  /* c8 ignore next 4 -- main answers every error itself */
  (err: unknown) => {
    console.error(err)
    process.exitCode = 1
  },
)
