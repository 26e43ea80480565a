/**
 * The oracle for certificate paths: `openssl verify` on PEM files, with the
 * purpose of a TLS client certificate (`sslclient`, what Node's TLS server
 * checks) and, with CRLs, `-crl_check_all` (every certificate of the path
 * needs its issuer's CRL).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface OpensslVerdict {
  ok: boolean
  /** OpenSSL's error line (`error 23 at 1 depth lookup: certificate revoked`), '' when ok */
  error: string
}

/**
 * Verify `leaf` with `untrusted` intermediates against the `ca` bundle and
 * the `crls` (when given), at `at` (ms since the epoch, default now).
 */
export function opensslVerify(o: {
  leaf: string
  untrusted?: string[]
  ca: string[]
  crls?: string[]
  at?: number
}): OpensslVerdict {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-verify-'))
  try {
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    }
    const args = ['verify', '-purpose', 'sslclient', '-CAfile', file('ca.pem', o.ca.join(''))]
    if (o.untrusted !== undefined && o.untrusted.length > 0)
      args.push('-untrusted', file('untrusted.pem', o.untrusted.join('')))
    if (o.crls !== undefined) args.push('-crl_check_all', '-CRLfile', file('crl.pem', o.crls.join('')))
    if (o.at !== undefined) args.push('-attime', String(Math.floor(o.at / 1000)))
    args.push(file('leaf.pem', o.leaf))
    const r = spawnSync('openssl', args, { encoding: 'utf8' })
    const error = `${r.stdout}\n${r.stderr}`.split('\n').find(l => /^error \d+ at/.test(l)) ?? ''
    return { ok: r.status === 0, error }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
