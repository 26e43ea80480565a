/**
 * `proxy-aware check`: validate a configuration file with the real engine,
 * for CI: its errors, and the warnings it reports at startup.
 */
import { trustProxy } from '../express.js'
import type { Command } from './command.js'
import { loadConfig, UsageError } from './config.js'
import { print } from './io.js'
import { captureWarnings, warningLine } from './warnings.js'

const usage = `Usage: proxy-aware check [--strict] <file>

Validate the proxy-aware options in <file> (JSON, or a .js/.mjs/.cjs module
whose default export is the options object) by compiling them with the
engine your app runs: print the error that startup would throw, and the
warnings it would report.

Options:
      --strict   fail on warnings too
  -h, --help     show this help

Exit status: 0 valid, 1 invalid (or warnings with --strict), 2 usage error.`

export const checkCommand: Command = {
  name: 'check',
  summary: 'validate a configuration file (errors and warnings, with CI exit codes)',
  usage,
  options: { strict: { type: 'boolean' } },
  allowPositionals: true,
  async run(values, positionals, io) {
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0 ? 'a configuration file is required' : `one file at a time, got ${positionals.length}`,
      )
    }
    const file = positionals[0]!
    // the options through the adapter that has a `logger`: warnings reach
    // it or process.emitWarning, whichever the engine uses
    const { error, warnings } = await captureWarnings(async logger =>
      trustProxy({ ...(await loadConfig(file, io.cwd)), logger } as Parameters<typeof trustProxy>[0]),
    )
    if (error instanceof UsageError) throw error
    for (const w of warnings) print(io.stderr, `${file}: warning: ${warningLine(w)}`)
    if (error !== undefined) {
      print(io.stderr, `${file}: error: ${(error as Error).message}`)
      return 1
    }
    const strictFail = values.strict === true && warnings.length > 0
    print(
      strictFail ? io.stderr : io.stdout,
      `${file}: ${warnings.length === 0 ? 'ok' : `valid, ${warnings.length} warning(s)${strictFail ? ' (--strict)' : ''}`}`,
    )
    return strictFail ? 1 : 0
  },
}
