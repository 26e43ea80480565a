/**
 * Step 3 of compiling an engine: the features (HTTPS redirect, HSTS,
 * Secure cookies, client certificates) compiled from the options and run
 * in order, per phase.
 */
import type { Answer, Feature, FeatureCompiler, FeatureContext, Phase } from '../features/feature.js'

/** The compiled features, as the adapters and `handle` run them. */
export interface Policies {
  /** The first answer a feature gives (send it instead of running the app), if any. */
  check(ctx: FeatureContext, phase?: Phase): Answer | undefined
  /** Hook the response (HSTS, Secure cookies); after `check` found nothing. */
  respond(ctx: FeatureContext, phase?: Phase): void
  /** Whether any feature is configured (adapters skip their hooks if not). */
  readonly hasFeatures: boolean
  /** Whether any feature of each phase is configured. */
  readonly hasPhase: Readonly<Record<Phase, boolean>>
}

/** The features of one phase, split by what they do. */
const byRole = (features: readonly Feature[]) => ({
  checks: features.filter(f => f.check !== undefined),
  responders: features.filter(f => f.onResponse !== undefined),
})

/** Compile `featureList` from `options` (each validates its own). */
export function compilePolicies(options: object, featureList: readonly FeatureCompiler[]): Policies {
  const features: Feature[] = []
  for (const f of featureList) {
    const feature = f.compile(options as Readonly<Record<string, unknown>>)
    if (feature !== undefined) features.push(feature)
  }
  // per phase (see Phase): all, before routing, once the route is known
  const all = byRole(features)
  const phases = { request: byRole(features.filter(f => f.route !== true)), route: byRole(features.filter(f => f.route === true)) }
  const check = (ctx: FeatureContext, phase?: Phase): Answer | undefined => {
    for (const f of (phase === undefined ? all : phases[phase]).checks) {
      const answer = f.check!(ctx)
      if (answer !== undefined) return answer
    }
    return undefined
  }
  const respond = (ctx: FeatureContext, phase?: Phase): void => {
    for (const f of (phase === undefined ? all : phases[phase]).responders) f.onResponse!(ctx)
  }
  return {
    check,
    respond,
    hasFeatures: features.length > 0,
    hasPhase: { request: features.some(f => f.route !== true), route: features.some(f => f.route === true) },
  }
}
