// Differential test of forwarded-certificate path verification against
// OpenSSL (issue 18): random small hierarchies (a root and 0-2
// intermediates, each in `ca` or sent with the leaf; expired or not;
// pathlen; extended key usage; revoked or not, with or without CRLs)
// made with the openssl CLI, verified by `openssl verify -purpose sslclient
// [-crl_check_all]` and by createTrustProxy for a certificate forwarded by
// a trusted peer. The verdicts (accepted or not) must agree.
import fc from 'fast-check'
import t from 'tap'
import { clientCertErrorOf, clientCertOf, createTrustProxy } from '../src/index.js'
import { type Pki, pki, type PkiOptions } from './fixtures/tls-pki.js'
import type { Pair } from './support/certs.js'
import { sf } from './support/forwarded-certs.js'
import { opensslVerify } from './support/openssl-verify.js'

const TRUSTED = '127.0.0.1'
// openssl runs per case on a machine shared with other tests
t.setTimeout(5 * 60_000)
/** bounded: each case runs openssl 10-20 times (about half a minute in all on a loaded machine); CHAIN_DIFF_RUNS=n for more */
const RUNS = Number(process.env.CHAIN_DIFF_RUNS ?? 16)

/** true one time in four: cases that pass every check stay common */
const rarely = fc.constantFrom(false, false, false, true)
const caArb = fc.record({
  expired: rarely,
  pathLen: fc.constantFrom(undefined, undefined, 0, 1),
  eku: fc.constantFrom(undefined, undefined, 'clientAuth', 'serverAuth', 'serverAuth, clientAuth'),
  revoked: rarely,
  inCa: fc.boolean(),
})
const caseArb = fc.record({
  cas: fc.array(caArb, { minLength: 1, maxLength: 3 }),
  leafExpired: rarely,
  leafRevoked: rarely,
  leafKind: fc.constantFrom('client', 'client', 'server') as fc.Arbitrary<'client' | 'server'>,
  withCrls: fc.boolean(),
})
type Case = typeof caseArb extends fc.Arbitrary<infer C> ? C : never

const clean = { expired: false, pathLen: undefined, eku: undefined, revoked: false, inCa: true }
/**
 * Run first, then the random cases: one hierarchy each verdict must reach
 * (16 random cases alone all came out refused about one run in thirty),
 * and one disagreement found by the random cases
 */
const EXAMPLES: [Case][] = [
  [
    // accepted: every CA of the path in ca with its CRL (an intermediate sent
    // with the leaf has no CRL here, so -crl_check_all refuses it)
    { cas: [clean, clean], leafExpired: false, leafRevoked: false, leafKind: 'client', withCrls: true },
  ],
  [{ cas: [clean, clean], leafExpired: false, leafRevoked: true, leafKind: 'client', withCrls: true }],
  // refused by both: a CA of ca (int2) whose issuer (int1) came only with the leaf; once a path
  // reaches a CA of ca, OpenSSL looks for the next issuer in ca alone (seen in CI, Node 26)
  [
    {
      cas: [clean, { ...clean, inCa: false }, clean],
      leafExpired: false,
      leafRevoked: false,
      leafKind: 'client',
      withCrls: false,
    },
  ],
]

const describeCase = (c: Case) =>
  [
    ...c.cas.map(
      (a, i) =>
        `${i === 0 ? 'root' : `int${i}`}(${[
          a.expired && 'expired',
          a.pathLen !== undefined && `pathlen:${a.pathLen}`,
          a.eku !== undefined && `eku:${a.eku}`,
          a.revoked && 'revoked',
          i > 0 && (a.inCa ? 'in ca' : 'sent'),
        ]
          .filter(Boolean)
          .join(' ')})`,
    ),
    `leaf(${c.leafKind}${c.leafExpired ? ' expired' : ''}${c.leafRevoked ? ' revoked' : ''})`,
    c.withCrls ? 'crls' : 'no crls',
  ].join(' > ')

let n = 0
/** Make the hierarchy of a case with openssl. */
const build = (c: Case) => {
  const label = `Diff ${++n}`
  const cas: Pki[] = []
  for (const [i, a] of c.cas.entries()) {
    const o: PkiOptions = {
      basicConstraints: `critical, CA:TRUE${a.pathLen === undefined ? '' : `, pathlen:${a.pathLen}`}`,
      ...(a.eku === undefined ? {} : { eku: a.eku }),
      ...(a.expired ? { from: -30, to: -1 } : {}),
      ...(i === 0 ? {} : { parent: cas[i - 1]! }),
    }
    cas.push(pki(`${label} ${i === 0 ? 'Root' : `Int ${i}`}`, o))
  }
  const issuer = cas.at(-1)!
  const leaf = c.leafExpired ? issuer.issue('leaf', c.leafKind, -1, -30) : issuer.issue('leaf', c.leafKind)
  // revocations: each CA by its parent (the root by itself), the leaf by its issuer
  for (const [i, a] of c.cas.entries()) if (a.revoked) (cas[i - 1] ?? cas[0]!).revokeCert(cas[i]!.ca.cert)
  if (c.leafRevoked) issuer.revokeCert(leaf.cert)
  const inCa = cas.filter((_, i) => i === 0 || c.cas[i]!.inCa).map(p => p.ca.cert)
  // sent with the leaf: its issuer first
  const sent = cas.filter((_, i) => i > 0 && !c.cas[i]!.inCa).reverse()
  // the CRLs of the CAs of ca (proxy-aware refuses at startup a CRL no CA of ca signed: a deliberate difference)
  const crls = c.withCrls ? cas.filter((_, i) => i === 0 || c.cas[i]!.inCa).map(p => p.crl()) : undefined
  return { leaf, inCa, sent, crls }
}

/** proxy-aware's verdict on the leaf forwarded (RFC 9440) by the trusted peer. */
const ours = (o: { leaf: Pair; inCa: string[]; sent: Pki[]; crls: string[] | undefined }) => {
  const proxy = createTrustProxy({
    trust: TRUSTED,
    clientCert: {
      mode: 'optional',
      forwarded: { source: 'rfc9440', ca: o.inCa, ...(o.crls === undefined ? {} : { crl: o.crls }) },
    },
  })
  const headers: Record<string, string> = { 'client-cert': sf(o.leaf) }
  if (o.sent.length > 0) headers['client-cert-chain'] = o.sent.map(p => sf(p.ca)).join(', ')
  const req = { method: 'GET', headers, socket: { remoteAddress: TRUSTED } }
  const res = { setHeader() {}, getHeader() {}, hasHeader: () => false, writeHead() {}, end() {} }
  proxy.handle(req as never, res as never)
  return { ok: clientCertOf(req as never) !== undefined, error: clientCertErrorOf(req as never) }
}

t.test('random hierarchies: the same verdict as openssl verify', async t => {
  const disagreements: string[] = []
  let accepted = 0
  let cases = 0
  fc.assert(
    fc.property(caseArb, c => {
      const built = build(c)
      const theirs = opensslVerify({
        leaf: built.leaf.cert,
        untrusted: built.sent.map(p => p.ca.cert),
        ca: built.inCa,
        ...(built.crls === undefined ? {} : { crls: built.crls }),
      })
      const mine = ours(built)
      cases++
      if (mine.ok) accepted++
      if (mine.ok !== theirs.ok) {
        disagreements.push(
          `${describeCase(c)}: openssl ${theirs.ok ? 'OK' : theirs.error}, proxy-aware ${mine.ok ? 'OK' : JSON.stringify(mine.error)}`,
        )
      }
      return true
    }),
    { numRuns: RUNS, endOnFailure: true, examples: EXAMPLES },
  )
  t.comment(`${cases} cases, ${accepted} accepted by both, ${disagreements.length} disagreements`)
  t.same(disagreements, [], 'no disagreement')
  // the generator must reach both verdicts, else the comparison proves little
  t.ok(accepted > 0 && accepted < cases, `both verdicts seen (${accepted} of ${cases} accepted)`)
})
