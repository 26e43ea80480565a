/**
 * What the engine reports while it compiles: `process.emitWarning` (the
 * core's channel) and a logger (the adapters' channel), captured so that
 * the commands print them, with whatever warnings later versions add.
 */
import type { Logger } from '../core/options.js'

/** One warning, as the commands print it. */
export interface Warning {
  message: string
  code: string | undefined
}

/** What `compile` returned or threw, and the warnings it reported. */
export type Captured<T> = { warnings: Warning[] } & (
  { value: T; error?: undefined } | { value?: undefined; error: unknown }
)

/**
 * Run `compile` (synchronous or not) with `process.emitWarning` replaced,
 * and give it a logger; everything either receives is returned, in order.
 */
export async function captureWarnings<T>(compile: (logger: Logger) => T | Promise<T>): Promise<Captured<T>> {
  const warnings: Warning[] = []
  const logger: Logger = {
    warn: (obj, msg) => warnings.push({ message: msg ?? JSON.stringify(obj), code: codeOf(obj) }),
    info() {},
  }
  const original = process.emitWarning
  process.emitWarning = function captureWarning(warning: string | Error, options?: unknown, code?: unknown) {
    const message = typeof warning === 'string' ? warning : warning.message
    warnings.push({ message, code: typeof code === 'string' ? code : codeOf(options) })
  } as typeof process.emitWarning
  try {
    let result: Captured<T>
    try {
      result = { value: await compile(logger), warnings }
    } catch (error) {
      result = { error, warnings }
    }
    // a warning deferred to the next turn (process.nextTick, setImmediate)
    await new Promise(resolve => setImmediate(resolve))
    return result
  } finally {
    process.emitWarning = original
  }
}

const codeOf = (obj: unknown): string | undefined => {
  const code = (obj as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

/** A warning as one line: the message and its code. */
export const warningLine = (w: Warning): string => (w.code === undefined ? w.message : `${w.message} [${w.code}]`)
