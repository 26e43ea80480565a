// The environment for a child Node process a test starts, without coverage
// collection. tap collects coverage in each process through
// @tapjs/processinfo, whose spawn hook puts its loader back into any child's
// NODE_OPTIONS and copies its _TAPJS_PROCESSINFO_* variables into the child's
// env unless the env sets them: `_TAPJS_PROCESSINFO_COVERAGE_=0` (the switch
// tap itself uses for --disable-coverage) is what keeps a child out of the
// report. A child loads src/ through another TypeScript transform (tsx)
// under the same file URL; c8 merges v8 counts per URL before it applies one
// source map, so the child's byte offsets land on the wrong lines (lines
// every test runs came out as never run). NODE_V8_COVERAGE goes too, for
// runs under c8 itself.
export const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  delete env.NODE_V8_COVERAGE
  delete env.NODE_OPTIONS
  return env
}
