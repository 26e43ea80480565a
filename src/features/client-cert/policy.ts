/**
 * The route-overridable part of the `clientCert` policy (mode, identity
 * allow-list, status), compiled at startup. @internal
 */
import { checkOptionNames, show } from '../../core/errors.js'
import type { ClientCertificate } from './types.js'
import { invalidOption, isObject, stringList } from './validators.js'

/** Normalised route-level policy. @internal */
export interface RouteConfig {
  required: boolean
  allow: ((cert: ClientCertificate) => boolean) | undefined
  status: number
}

/** `AB:CD:...` from any spelling of a SHA-256 fingerprint. @internal */
export const normalizeFingerprint = (s: string): string | undefined => {
  const hex = s.replace(/:/g, '').toUpperCase()
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined
  return hex.match(/../g)!.join(':')
}

const compileAllow = (option: string, allow: unknown): RouteConfig['allow'] => {
  if (typeof allow === 'function') return allow as (cert: ClientCertificate) => boolean
  if (!isObject(allow)) return invalidOption(option, `must be an object of lists or a function, got ${show(allow)}`)
  checkOptionNames(allow, ['fingerprint256', 'uri', 'dns', 'email', 'commonName'], option)
  const lower = (s: string) => s.toLowerCase()
  const same = (s: string) => s
  const fp =
    allow.fingerprint256 === undefined
      ? undefined
      : stringList(`${option}.fingerprint256`, allow.fingerprint256, normalizeFingerprint)
  const uri = allow.uri === undefined ? undefined : stringList(`${option}.uri`, allow.uri, same)
  const dns = allow.dns === undefined ? undefined : stringList(`${option}.dns`, allow.dns, lower)
  const email = allow.email === undefined ? undefined : stringList(`${option}.email`, allow.email, lower)
  const cn = allow.commonName === undefined ? undefined : stringList(`${option}.commonName`, allow.commonName, same)
  if (fp === undefined && uri === undefined && dns === undefined && email === undefined && cn === undefined) {
    invalidOption(option, 'lists nothing: every certificate would be refused')
  }
  return cert =>
    (fp?.has(cert.fingerprint256) ?? false) ||
    (uri !== undefined && cert.san.uri.some(u => uri.has(u))) ||
    (dns !== undefined && cert.san.dns.some(d => dns.has(d.toLowerCase()))) ||
    (email !== undefined && cert.san.email.some(e => email.has(e.toLowerCase()))) ||
    (cn !== undefined && cert.commonNames.some(c => cn.has(c)))
}

/** Validate the route-overridable part. @internal */
export const compileRoutePolicy = (
  option: string,
  value: Record<string, unknown>,
  base: RouteConfig | undefined,
  extra: readonly string[] = [],
): RouteConfig => {
  checkOptionNames(value, ['mode', 'allow', 'status', ...extra], option)
  const mode = value.mode
  if (mode !== undefined && mode !== 'required' && mode !== 'optional') {
    invalidOption(`${option}.mode`, `must be 'required' or 'optional', got ${show(mode)}`)
  }
  const status = value.status
  if (status !== undefined && (!Number.isInteger(status) || (status as number) < 400 || (status as number) > 499)) {
    invalidOption(`${option}.status`, `must be a 4xx status code, got ${show(status)}`)
  }
  return {
    required: mode === undefined ? (base?.required ?? true) : mode === 'required',
    allow: value.allow === undefined ? base?.allow : compileAllow(`${option}.allow`, value.allow),
    status: (status as number | undefined) ?? base?.status ?? 403,
  }
}
