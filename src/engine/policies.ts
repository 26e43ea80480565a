/**
 * Step 3 of compiling an engine: the features (HTTPS redirect, HSTS,
 * Secure cookies, client certificates) compiled from the options and run
 * in order, per phase.
 */
import type { Answer, EngineFacts, Feature, FeatureCompiler, FeatureContext, Phase } from '../features/feature.js'

/** The compiled features, as the adapters and `handle` run them. */
export interface Policies {
  /**
   * Run the policies of `phase` (both phases in order when undefined): the
   * checks, then, when none answered, the response hooks (HSTS, Secure
   * cookies). Returns the answer to send, if any. An answer of the route
   * phase (a clientCert refusal) goes out on a response the request phase
   * already hooked, so it carries HSTS.
   */
  run(ctx: FeatureContext, phase?: Phase): Answer | undefined
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

/**
 * Compile `featureList` from `options` (each validates its own) and what
 * the engine compiled already (`engine`).
 */
export function compilePolicies(
  options: object,
  featureList: readonly FeatureCompiler[],
  engine: EngineFacts,
): Policies {
  const features: Feature[] = []
  for (const f of featureList) {
    const feature = f.compile(options as Readonly<Record<string, unknown>>, engine)
    if (feature !== undefined) features.push(feature)
  }
  // per phase (see Phase): before routing, once the route is known
  const phases = {
    request: byRole(features.filter(f => f.route !== true)),
    route: byRole(features.filter(f => f.route === true)),
  }
  const runPhase = (ctx: FeatureContext, phase: Phase): Answer | undefined => {
    const { checks, responders } = phases[phase]
    for (const f of checks) {
      const answer = f.check!(ctx)
      if (answer !== undefined) return answer
    }
    for (const f of responders) f.onResponse!(ctx)
    return undefined
  }
  const run = (ctx: FeatureContext, phase?: Phase): Answer | undefined =>
    phase !== undefined ? runPhase(ctx, phase) : (runPhase(ctx, 'request') ?? runPhase(ctx, 'route'))
  return {
    run,
    hasFeatures: features.length > 0,
    hasPhase: { request: features.some(f => f.route !== true), route: features.some(f => f.route === true) },
  }
}
