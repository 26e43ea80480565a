/**
 * Small checks of `clientCert` option values, shared by the modules that
 * compile the option. @internal
 */
import { ProxyAwareConfigError, show } from '../../core/errors.js'
import { integerIn } from '../../core/options.js'

/** Throw the startup error of `option`. @internal */
export const invalidOption = (option: string, message: string): never => {
  throw new ProxyAwareConfigError(option, message)
}

/** A plain object (not null, not an array). @internal */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)

/** A header name: lower-cased token characters. @internal */
export const headerName = (option: string, value: unknown, fallback: string | undefined): string | undefined => {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(value)) {
    invalidOption(option, `must be a header name, got ${show(value)}`)
  }
  return (value as string).toLowerCase()
}

/** A set of strings, each mapped (undefined: refused). @internal */
export const stringList = (option: string, value: unknown, map: (s: string) => string | undefined): Set<string> => {
  if (!Array.isArray(value) || value.some(v => typeof v !== 'string' || map(v) === undefined)) {
    invalidOption(option, `must be an array of strings, got ${show(value)}`)
  }
  return new Set((value as string[]).map(v => map(v)!))
}

/** A whole number from 1 to `max`, `fallback` when undefined. @internal */
export const positive = (option: string, value: unknown, fallback: number, max: number): number =>
  value === undefined ? fallback : integerIn(option, value, 1, max)

/** Run a parser of option values, as a startup error of `option`. @internal */
export const parsed = <T>(option: string, parse: () => T): T => {
  try {
    return parse()
  } catch (err) {
    return invalidOption(option, (err as Error).message)
  }
}
