// The runtime suite: `bun test/runtimes/run.mjs`, `deno run -A
// test/runtimes/run.mjs` (or node). Runs the built package (dist/, from
// `npm run build`) as an app installed from npm would. Exits non-zero on a
// failed check.
import { run } from './harness.mjs'
import './core.mjs'
import './response.mjs'
import './proxy-protocol.mjs'
import './client-cert.mjs'

process.exitCode = (await run()) === 0 ? 0 : 1
