/**
 * Helpers for the demo sections (`examples/demo/NN-name.mjs`): send a
 * request from a chosen loopback source address, compare what came back
 * with what was expected, and print a table.
 */
import http from 'node:http'
import https from 'node:https'

/** Who sends the scripted requests: 127.0.0.x addresses all reach loopback on Linux. */
export const PROXY = '127.0.0.2'
export const ATTACKER = '127.0.0.66'

/**
 * Send one request to `url` from source address `from`, over a fresh
 * connection. `tls` takes node:https options (ca, cert, key, servername).
 * Resolves to { status, headers, body } (body parsed as JSON when it is).
 */
export const send = (url, { from, method = 'GET', headers = {}, tls = {} } = {}) =>
  new Promise((resolve, reject) => {
    const u = new URL(url)
    const client = u.protocol === 'https:' ? https : http
    const req = client.request(u, { method, headers, localAddress: from, agent: false, ...tls }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', chunk => {
        text += chunk
      })
      res.on('end', () => {
        let body = text
        if (String(res.headers['content-type']).startsWith('application/json')) {
          try {
            body = JSON.parse(text)
          } catch {
            // left as text; the section's expectations will say so
          }
        }
        resolve({ status: res.statusCode, headers: res.headers, body })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    // a request that hangs is a failure, not a reason to wait forever
    req.setTimeout(5000, () => req.destroy(new Error(`no answer from ${url} within 5 s`)))
    req.end()
  })

/**
 * Collects mismatches between expected and actual values; `ok()` returns
 * the mark for a table row, `failures` what went wrong.
 */
export class Expectations {
  failures = []

  /**
   * Compare every key of `want` with `got` (deep, via JSON). Returns 'ok'
   * or 'UNEXPECTED' for the row.
   */
  check(label, got, want) {
    const bad = []
    for (const [key, value] of Object.entries(want)) {
      const actual = got?.[key]
      if (JSON.stringify(actual) !== JSON.stringify(value)) {
        bad.push(`${key}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(value)}`)
      }
    }
    if (bad.length > 0) this.failures.push(`${label}: ${bad.join('; ')}`)
    return bad.length === 0 ? 'ok' : 'UNEXPECTED'
  }

  /** Throw (the demo then exits non-zero) if anything was unexpected. */
  assertAll(section) {
    if (this.failures.length > 0) {
      throw new Error(`${section}: ${this.failures.length} unexpected result(s):\n  ${this.failures.join('\n  ')}`)
    }
  }
}

/** Print rows (arrays of cells; a cell may hold several lines) as a boxed table. */
export const printTable = (header, rows) => {
  const split = cell => String(cell ?? '').split('\n')
  const widths = header.map((h, i) => Math.max(h.length, ...rows.flatMap(r => split(r[i]).map(l => l.length))))
  const rule = `+${widths.map(w => '-'.repeat(w + 2)).join('+')}+`
  const print = cells => {
    const lines = cells.map(split)
    const height = Math.max(...lines.map(l => l.length))
    for (let k = 0; k < height; k++) {
      console.log(`| ${lines.map((l, i) => (l[k] ?? '').padEnd(widths[i])).join(' | ')} |`)
    }
  }
  console.log(rule)
  print(header)
  console.log(rule)
  for (const r of rows) {
    print(r)
    console.log(rule)
  }
}

/** Format request headers for a table cell, one per line. */
export const headerLines = headers =>
  Object.entries(headers)
    .flatMap(([k, v]) => [v].flat().map(line => `${k}: ${line}`))
    .join('\n') || '(none)'
