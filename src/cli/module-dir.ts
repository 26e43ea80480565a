// The directory of this module (ESM build; module-dir-cjs.cts replaces it
// in the CommonJS build, where import.meta does not exist).
import { fileURLToPath } from 'node:url'

// tshy type-checks this file during the CommonJS build too, then swaps in
// the polyfill (tshy README, "CommonJS Dialect Polyfills")
// @ts-ignore TS1470: import.meta in the CommonJS pass
export const moduleDir: string = fileURLToPath(new URL('.', import.meta.url))
