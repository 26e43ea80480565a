/**
 * `proxy-aware refresh-presets`: fetch the vendors' current address lists
 * and write one presets file the app loads (`presetsFile` option or the
 * `PROXY_AWARE_PRESETS` environment variable).
 */
import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { PRESETS_ENV, refreshPresets, SNAPSHOT_FROM_TEXT, VENDOR_PRESETS } from '../vendors/index.js'
import type { Command } from './command.js'
import { print } from './io.js'

const USAGE = `Usage: proxy-aware refresh-presets [options]

Fetch the vendors' current address lists (Cloudflare, CloudFront, Fastly),
check every range, and write one presets file. Load it in the app with the
option presetsFile: "<file>" or the environment variable ${PRESETS_ENV}=<file>.
Nothing is written when a vendor fails.

Options:
  -o, --out <file>        file to write (default: $${PRESETS_ENV}, else presets.json)
      --vendor <name>     refresh only this vendor (repeatable)
      --azure-file <file> Azure service tags (ServiceTags_Public_<date>.json from
                          https://www.microsoft.com/en-us/download/details.aspx?id=56519;
                          Microsoft has no stable URL for it)
      --gcp-file <file>   GCP load balancer ranges, one CIDR per line (published
                          only in https://cloud.google.com/load-balancing/docs/firewall-rules)
      --allow-shrink      accept a list less than half the size of the previous one
      --allow-growth      accept a list more than twice the bundled one (ranges, or
                          IPv4 or IPv6 addresses covered); check the vendor's own
                          list first, and start the app with allowPresetGrowth: true
      --base-url <url>    fetch from <url>/<vendor host>/<path> (a mirror)
  -h, --help              show this help

Exit codes: 0 written, 1 a vendor failed (nothing written), 2 usage error.
`

/**
 * Write `text` to `out` so that a reader never sees half a file: into a
 * new file of a random name in the same folder, created exclusively (`wx`:
 * a file or symlink planted under that name fails the write instead of
 * redirecting it), then renamed over `out`.
 */
const writeAtomically = async (out: string, text: string): Promise<void> => {
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(8).toString('hex')}.tmp`)
  const handle = await open(tmp, 'wx', 0o644)
  try {
    await handle.writeFile(text)
  } finally {
    await handle.close()
  }
  try {
    await rename(tmp, out)
  } catch (error) {
    await rm(tmp, { force: true })
    throw error
  }
}

/** The `refresh-presets` subcommand. */
export const refreshCommand: Command = {
  name: 'refresh-presets',
  summary: "fetch the vendors' current address ranges into a presets file",
  usage: USAGE,
  options: {
    'out': { type: 'string', short: 'o' },
    'vendor': { type: 'string', multiple: true },
    'azure-file': { type: 'string' },
    'gcp-file': { type: 'string' },
    'allow-shrink': { type: 'boolean' },
    'allow-growth': { type: 'boolean' },
    'base-url': { type: 'string' },
  },
  allowPositionals: false,
  async run(values, positionals, io) {
    const str = (name: string) => values[name] as string | undefined
    if (positionals.length > 0) {
      // print escapes control characters: the argument is the user's text
      print(
        io.stderr,
        `proxy-aware refresh-presets: unexpected argument ${JSON.stringify(positionals[0])}\n\n${USAGE.trimEnd()}`,
      )
      return 2
    }
    // a vendor we cannot refresh is a usage error, found before any fetch
    const unknown = ((values.vendor as string[] | undefined) ?? []).find(
      v => !(VENDOR_PRESETS as readonly string[]).includes(v),
    )
    if (unknown !== undefined) {
      io.stderr.write(
        `proxy-aware refresh-presets: --vendor ${unknown} is not a vendor preset with ranges (known: ${VENDOR_PRESETS.join(', ')})\n`,
      )
      return 2
    }
    const out = resolve(io.cwd, str('out') ?? (io.env[PRESETS_ENV] || 'presets.json'))
    const azure = str('azure-file')
    const gcp = str('gcp-file')
    const files = {
      ...(azure !== undefined && { 'azure-front-door': resolve(io.cwd, azure) }),
      ...(gcp !== undefined && { 'gcp-lb': resolve(io.cwd, gcp) }),
    }
    let result
    try {
      result = await refreshPresets({
        vendors: values.vendor as string[] | undefined,
        files,
        baseUrl: str('base-url'),
        allowShrink: values['allow-shrink'] === true,
        allowGrowth: values['allow-growth'] === true,
      })
    } catch (error) {
      io.stderr.write(`${(error as Error).message}\nNothing was written.\n`)
      return 1
    }
    try {
      await writeAtomically(out, `${JSON.stringify(result.file, null, 2)}\n`)
    } catch (error) {
      io.stderr.write(`proxy-aware refresh-presets: cannot write ${out}: ${(error as Error).message}\n`)
      return 1
    }
    for (const [vendor, entry] of Object.entries(result.file.presets)) {
      const { snapshot, snapshotFrom } = entry.retrieved
      io.stdout.write(
        `${vendor}: ${entry.ranges.length} ranges, list of ${String(snapshot)} (${SNAPSHOT_FROM_TEXT[snapshotFrom!]})\n`,
      )
    }
    for (const [vendor, why] of Object.entries(result.skipped)) io.stdout.write(`${vendor}: skipped: ${why}\n`)
    io.stdout.write(`Wrote ${out}. Load it with presetsFile: ${JSON.stringify(out)} or ${PRESETS_ENV}=${out}\n`)
    return 0
  },
}
