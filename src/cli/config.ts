/**
 * Reading the options of `proxy-aware explain --config` and `check`: a
 * JSON file, or a JS module whose default export (else its named exports)
 * is the options object.
 */
import { readFile } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

/** A problem with the command line (exit 2), not with the configuration. */
export class UsageError extends Error {}

/** Load the options in `file` (relative to `cwd`). Throws UsageError when it cannot be read. */
export async function loadConfig(file: string, cwd: string): Promise<Record<string, unknown>> {
  const path = resolve(cwd, file)
  const ext = extname(path)
  if (ext !== '.json' && ext !== '.js' && ext !== '.mjs' && ext !== '.cjs') {
    throw new UsageError(`${file}: a configuration is a .json, .js, .mjs or .cjs file`)
  }
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`)
  }
  if (ext === '.json') {
    try {
      return options(JSON.parse(text) as unknown, file)
    } catch (err) {
      throw err instanceof SyntaxError ? new SyntaxError(`${file} is not valid JSON: ${err.message}`) : err
    }
  }
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>
  return options(mod.default ?? { ...mod }, file)
}

/** The options object a file gave, or an error naming the file. */
const options = (value: unknown, file: string): Record<string, unknown> => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${file} must hold an options object, such as { "trust": ["loopback"] }`)
  }
  return value as Record<string, unknown>
}
