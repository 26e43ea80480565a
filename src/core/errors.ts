/**
 * Errors thrown by proxy-aware. Configuration problems are found when the
 * trust engine is created (at startup), never per request.
 */
import { escapeControls } from './escape.js'

/** The brand every copy of the package shares (a registered symbol). */
const kBrand = Symbol.for('proxy-aware.ProxyAwareConfigError')
type Branded = { [kBrand]?: unknown }

/**
 * Thrown at startup when an option is missing or has a bad value. The
 * message names the option and the offending value.
 * @public
 */
export class ProxyAwareConfigError extends TypeError {
  /**
   * `instanceof` holds across copies of the package (the ESM and the
   * CommonJS build loaded in one process): it looks for a brand registered
   * with `Symbol.for`, not for this copy's class.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Branded)[kBrand] === true
  }

  /** Stable machine-readable code. */
  readonly code = 'PROXY_AWARE_INVALID_OPTION'
  /** The option path, e.g. `trust` or `hsts.maxAge`. */
  readonly option: string

  constructor(option: string, message: string) {
    super(`proxy-aware: option "${option}" ${message}`)
    this.name = 'ProxyAwareConfigError'
    this.option = option
    Object.defineProperty(this, kBrand, { value: true })
  }
}

/**
 * Render a user-supplied value (or a request's, a mirror's) for a message:
 * JSON-quoted, with every control character escaped (see `escape.ts`).
 * @internal
 */
export const show = (value: unknown): string => escapeControls(render(value))

const render = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value)
  // JSON.stringify would print NaN and Infinity as null
  if (typeof value === 'number') return String(value)
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'symbol') return value.toString()
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    // a cycle, a throwing toJSON; String(value) may throw too
    return Object.prototype.toString.call(value)
  }
}

/**
 * Throw on option names nobody understands (a typo would otherwise turn a
 * security setting off silently). `prefix` names the parent option, e.g.
 * `hsts` for `hsts.maxAge`. @internal
 */
export const checkOptionNames = (options: object, known: readonly string[], prefix?: string): void => {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new ProxyAwareConfigError(
        prefix === undefined ? key : `${prefix}.${key}`,
        `is not a known option (known: ${known.join(', ')})`,
      )
    }
  }
}
