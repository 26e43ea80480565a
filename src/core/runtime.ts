/**
 * Which JavaScript runtime runs proxy-aware, for the messages of startup
 * errors about a runtime: Bun and Deno run Node's APIs (`node:http`,
 * `node:net`, `node:tls`) through their own implementations, and report a
 * Node version in `process.version`.
 */

/** The version fields read (`process.versions` has them on each runtime). @internal */
export interface Versions {
  readonly [name: string]: string | undefined
  readonly bun?: string
  readonly deno?: string
}

/**
 * "Bun 1.4.5", "Deno 2.9.6" or "Node v22.3.0". @internal
 */
export const runtimeName = (versions: Versions = process.versions, node: string = process.version): string => {
  if (versions.bun !== undefined) return `Bun ${versions.bun}`
  if (versions.deno !== undefined) return `Deno ${versions.deno}`
  return `Node ${node}`
}
