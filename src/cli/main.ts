/**
 * `proxy-aware <command>`: the command-line tool installed with the
 * package. `main` parses the command line with `util.parseArgs` and
 * dispatches to a command of the table; bin.ts runs it.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { moduleDir } from './module-dir.js'
import { checkCommand } from './check.js'
import type { Command, Io } from './command.js'
import { UsageError } from './config.js'
import { explainCommand } from './explain.js'
import { print } from './io.js'
import { refreshCommand } from './refresh.js'

/** The commands, in the order `--help` lists them. */
const COMMANDS: readonly Command[] = [explainCommand, checkCommand, refreshCommand]

/**
 * Edits (insert, delete, replace, swap two neighbours) from `a` to `b`:
 * the optimal string alignment distance, so `explian` is one from `explain`.
 */
const distance = (a: string, b: string): number => {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/** The command a mistyped name most likely meant (at most two edits away), if any. */
const closest = (name: string): string | undefined => {
  let best: string | undefined
  let fewest = 3
  for (const c of COMMANDS) {
    const edits = distance(name.toLowerCase(), c.name)
    if (edits < fewest) {
      best = c.name
      fewest = edits
    }
  }
  return best
}

const help = (): string => {
  const width = Math.max(...COMMANDS.map(c => c.name.length))
  return `Usage: proxy-aware <command> [options]

Commands:
${COMMANDS.map(c => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help     show this help; proxy-aware <command> --help for a command's
  -v, --version  print the version

Docs: https://github.com/proxy-aware/proxy-aware/blob/main/docs/cli.md`
}

/** The package's version, from its package.json: two levels up from src/cli, three from dist/esm/cli. */
const version = (): string => {
  const src = join(moduleDir, '../../package.json')
  /* c8 ignore next -- the built layout; scripts/pack-smoke.mjs runs it */
  const file = existsSync(src) ? src : join(moduleDir, '../../../package.json')
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
}

/** Report a usage error the way npm and tsc do: the problem, then where to look. */
const usageError = (io: Io, prefix: string, message: string): number => {
  print(io.stderr, `${prefix}: ${message}\nRun '${prefix} --help' for usage.`)
  return 2
}

/** Run the tool on `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined) {
    print(io.stderr, help())
    return 2
  }
  if (first === '-h' || first === '--help' || (first === 'help' && rest.length === 0)) {
    print(io.stdout, help())
    return 0
  }
  if (first === '-v' || first === '--version') {
    print(io.stdout, version())
    return 0
  }
  const name = first === 'help' ? rest[0]! : first
  const command = COMMANDS.find(c => c.name === name)
  if (command === undefined) {
    const near = name.startsWith('-') ? undefined : closest(name)
    return usageError(
      io,
      'proxy-aware',
      `unknown ${name.startsWith('-') ? 'option' : 'command'} ${JSON.stringify(name)}${near === undefined ? '' : ` (did you mean ${near}?)`}`,
    )
  }
  if (first === 'help') {
    print(io.stdout, command.usage)
    return 0
  }
  const prefix = `proxy-aware ${command.name}`
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.allowPositionals,
      strict: true,
    })
  } catch (err) {
    // ERR_PARSE_ARGS_*: an unknown option, a missing value, a stray argument
    return usageError(io, prefix, (err as Error).message)
  }
  if (parsed.values.help === true) {
    print(io.stdout, command.usage)
    return 0
  }
  try {
    return await command.run(parsed.values, parsed.positionals, io)
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, prefix, err.message)
    print(io.stderr, `${prefix}: error: ${(err as Error).message}`)
    return 1
  }
}
