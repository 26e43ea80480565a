// The directory of this module (ESM build; module-dir-cjs.cts replaces it
// in the CommonJS build, where import.meta does not exist).
import { fileURLToPath } from 'node:url'

export const moduleDir: string = fileURLToPath(new URL('.', import.meta.url))
