/**
 * The shape of one `proxy-aware <name>` subcommand, so that commands can be
 * written and tested apart from the entry point that dispatches them.
 */
import type { ParseArgsConfig } from 'node:util'

/** Where a command reads and writes: tests pass their own. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
  env: NodeJS.ProcessEnv
  cwd: string
}

/** The values `util.parseArgs` returns for a command's options. */
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>

/** One subcommand. `run` resolves to the process exit code: 0 ok, 1 the command found problems, 2 usage error. */
export interface Command {
  name: string
  /** one line, for `proxy-aware --help` */
  summary: string
  /** the whole help text of `proxy-aware <name> --help` */
  usage: string
  options: NonNullable<ParseArgsConfig['options']>
  allowPositionals: boolean
  run(values: Values, positionals: string[], io: Io): Promise<number>
}
