// The engine as the adapters see it (its compiled features included), for
// tests that look past the public face of createTrustProxy.
import { compileEngine, type Engine } from '../../src/engine/index.js'
import type { TrustProxyOptions } from '../../src/engine/options.js'
import { DEFAULT_FEATURES } from '../../src/features/index.js'

export const engineOf = (options: TrustProxyOptions): Engine => compileEngine(options, [], DEFAULT_FEATURES)
