/**
 * Shared helpers for the benchmarks: medians, a Markdown table, and a
 * sanity check that fails the run.
 */

/** Median of a list of numbers. */
export const median = (values) => {
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Print rows (arrays of strings) as an aligned Markdown table. */
export const table = (header, rows) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => String(r[i]).length)))
  const line = cells => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`
  console.log(line(header))
  console.log(`|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`)
  for (const r of rows) console.log(line(r))
}

/** Throw (so the run exits non-zero) when a benchmark's answers disagree. */
export const check = (ok, message) => {
  if (!ok) throw new Error(`bench sanity check failed: ${message}`)
}
