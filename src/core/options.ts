/**
 * The option checks every unit shares: they throw `ProxyAwareConfigError`
 * naming the option and the bad value.
 */
import { ProxyAwareConfigError, show } from './errors.js'

type Opts = Readonly<Record<string, unknown>>

/** An options object (not null, not an array). */
export const plainObject = (name: string, value: unknown): Opts => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProxyAwareConfigError(name, `must be an options object, got ${show(value)}`)
  }
  return value as Opts
}

/** A boolean option, `fallback` when undefined. */
export const bool = (name: string, value: unknown, fallback: boolean): boolean => {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new ProxyAwareConfigError(name, `must be a boolean, got ${show(value)}`)
  return value
}

/** A whole-number option from `min` to `max`. */
export const integerIn = (name: string, value: unknown, min: number, max: number): number => {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new ProxyAwareConfigError(name, `must be a whole number from ${min} to ${max}, got ${show(value)}`)
  }
  return value as number
}

/**
 * Where proxy-aware reports what it decided (pino-compatible: Fastify's
 * `request.log`, or any object with these methods). @public
 */
export interface Logger {
  warn(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
}

/** Where an engine's warnings go: `code`, the message, and facts for structured logs. @internal */
export type Warn = (code: string, message: string, facts: Readonly<Record<string, unknown>>) => void

/** The default sink: `process.emitWarning`, as a `SecurityWarning` with the code. @internal */
export const emitWarning: Warn = (code, message) => process.emitWarning(message, { code, type: 'SecurityWarning' })

/** A logger that drops everything, for callers that pass none. */
export const silentLogger: Logger = { warn() {}, info() {} }

/**
 * Validate a `logger` option: undefined (a silent logger) or an object
 * with `warn` and `info` methods.
 */
export const checkLogger = (option: string, value: unknown): Logger => {
  if (value === undefined) return silentLogger
  const log = value as Partial<Logger> | null
  if (typeof log !== 'object' || log === null || typeof log.warn !== 'function' || typeof log.info !== 'function') {
    // an object prints as {} (its methods are not JSON): name what it lacks
    const missing =
      typeof log === 'object' && log !== null
        ? `an object without ${['warn', 'info']
            .filter(m => typeof log[m as keyof Logger] !== 'function')
            .map(m => `${m}()`)
            .join(' and ')}`
        : show(value)
    throw new ProxyAwareConfigError(
      option,
      `must be a logger with warn() and info() methods (pino, console), got ${missing}`,
    )
  }
  return log as Logger
}
