// The environment for a child Node process a test starts, without tap's
// coverage collection (NODE_V8_COVERAGE, and tap's loader in NODE_OPTIONS).
// A child that loads src/ through another TypeScript transform (tsx, or a
// transpiled copy) reports the same files with other line numbers; merged
// with the test processes' coverage, that corrupts the report (lines every
// test runs came out as never run).
export const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env.NODE_V8_COVERAGE
  delete env.NODE_OPTIONS
  return env
}
