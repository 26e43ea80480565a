// Options of forwarded client certificates refused at startup: a trust
// option that believes any peer, aws-alb without its mode or ca, certificate
// headers that are standard headers or read twice. Reading them:
// mtls-forwarded-headers.ts.
import t from 'tap'
import { trustProxy } from '../src/express.js'
import { createTrustProxy, type ClientCertPolicy, ProxyAwareConfigError } from '../src/index.js'
import { engineOf } from './support/engine.js'

const TRUSTED = '127.0.0.1'

/** the ProxyAwareConfigError `fn` throws, or undefined */
const configError = (fn: () => unknown): ProxyAwareConfigError | undefined => {
  try {
    fn()
  } catch (err) {
    if (err instanceof ProxyAwareConfigError) return err
    throw err
  }
  return undefined
}

t.test('forwarded certificates need a trust option that checks the peer', async t => {
  const clientCert: ClientCertPolicy = { forwarded: { source: 'nginx' } }
  for (const trust of [true, 1, 3] as const) {
    for (const [name, make] of [
      ['core', () => createTrustProxy({ trust, clientCert })],
      ['express', () => trustProxy({ trust, clientCert })],
    ] as const) {
      const err = configError(make)
      t.equal(err?.option, 'clientCert.forwarded', `${name}, trust: ${trust}`)
      t.match(err?.message, `got trust: ${trust}, which believes any peer`, `${name}, trust: ${trust}`)
    }
  }
  // without forwarded, the socket's certificate does not depend on trust
  t.equal(engineOf({ trust: true, clientCert: {} }).hasFeatures, true)
  // trust: [] trusts no peer: forwarded certificates are never read, which fails closed
  for (const trust of [[], TRUSTED, [TRUSTED], (a: string) => a === TRUSTED]) {
    t.equal(engineOf({ trust, clientCert }).hasFeatures, true, `trust: ${String(trust)} is accepted`)
  }
})

t.test('aws-alb needs an explicit mode, and passthrough needs ca', async t => {
  const bad: [unknown, string, RegExp][] = [
    [
      { source: 'aws-alb' },
      'clientCert.forwarded.mode',
      /is required for aws-alb: 'verify' .* or 'passthrough' .*, got undefined/,
    ],
    [{ source: 'aws-alb', mode: 'auto' }, 'clientCert.forwarded.mode', /got "auto"/],
    [{ source: 'aws-alb', mode: 'passthrough' }, 'clientCert.forwarded.ca', /is required in aws-alb passthrough mode/],
    [
      { source: 'aws-alb', mode: 'passthrough', proxyVerifies: true },
      'clientCert.forwarded.ca',
      /is required in aws-alb passthrough mode/,
    ],
    [
      { source: 'nginx', mode: 'verify' },
      'clientCert.forwarded.mode',
      /applies to the aws-alb source only, got "verify"/,
    ],
  ]
  for (const [forwarded, option, message] of bad) {
    const err = configError(() => createTrustProxy({ trust: TRUSTED, clientCert: { forwarded: forwarded as never } }))
    t.equal(err?.option, option, JSON.stringify(forwarded))
    t.match(err?.message, message, JSON.stringify(forwarded))
  }
})

t.test('certHeader and verifyHeader must be headers of their own', async t => {
  const standard = /must not be a standard header, got "[^"]+": the certificate headers are deleted/
  const bad: [unknown, string, RegExp][] = [
    [{ source: 'nginx', certHeader: 'Host' }, 'clientCert.forwarded.certHeader', /got "host"/],
    [{ source: 'nginx', certHeader: 'content-length' }, 'clientCert.forwarded.certHeader', standard],
    [{ source: 'haproxy', certHeader: 'cookie' }, 'clientCert.forwarded.certHeader', standard],
    [{ source: 'nginx', verifyHeader: 'authorization' }, 'clientCert.forwarded.verifyHeader', standard],
    [
      { source: 'nginx', verifyHeader: 'X-Forwarded-For' },
      'clientCert.forwarded.verifyHeader',
      /got "x-forwarded-for"/,
    ],
    [{ source: 'nginx', verifyHeader: 'forwarded' }, 'clientCert.forwarded.verifyHeader', standard],
    [{ source: 'nginx', verifyHeader: 'accept-language' }, 'clientCert.forwarded.verifyHeader', standard],
    [{ source: 'nginx', verifyHeader: 'sec-fetch-site' }, 'clientCert.forwarded.verifyHeader', standard],
    [
      { source: 'rfc9440', verifyHeader: 'proxy-authorization', verifyValue: 'x' },
      'clientCert.forwarded.verifyHeader',
      standard,
    ],
    // each other
    [
      { source: 'nginx', certHeader: 'x-ssl-client-verify' },
      'clientCert.forwarded.verifyHeader',
      /names a header already read for this source \(x-ssl-client-verify\), got "x-ssl-client-verify"/,
    ],
    [
      { source: 'haproxy', certHeader: 'x-cert', verifyHeader: 'X-Cert' },
      'clientCert.forwarded.verifyHeader',
      /already read for this source \(x-cert\)/,
    ],
    // the source's fixed names
    [
      { source: 'rfc9440', verifyHeader: 'client-cert', verifyValue: 'x' },
      'clientCert.forwarded.verifyHeader',
      /already read for this source \(client-cert, client-cert-chain\), got "client-cert"/,
    ],
    [
      { source: 'xfcc', verifyHeader: 'x-forwarded-client-cert', verifyValue: 'x' },
      'clientCert.forwarded.verifyHeader',
      /already read/,
    ],
    [
      { source: 'aws-alb', mode: 'verify', verifyHeader: 'x-amzn-mtls-clientcert-subject', verifyValue: 'x' },
      'clientCert.forwarded.verifyHeader',
      /already read/,
    ],
    [
      { source: 'traefik', verifyHeader: 'x-forwarded-tls-client-cert-info', verifyValue: 'x' },
      'clientCert.forwarded.verifyHeader',
      /already read/,
    ],
  ]
  for (const [forwarded, option, message] of bad) {
    const err = configError(() => createTrustProxy({ trust: TRUSTED, clientCert: { forwarded: forwarded as never } }))
    t.equal(err?.option, option, JSON.stringify(forwarded))
    t.match(err?.message, message, JSON.stringify(forwarded))
  }
  // headers of their own are fine, whatever their spelling
  for (const forwarded of [
    { source: 'nginx', certHeader: 'X-Client-Cert', verifyHeader: 'X-Client-Verify' },
    { source: 'haproxy', certHeader: 'x-ssl-cert-der' },
    { source: 'rfc9440', verifyHeader: 'x-client-cert-chain-verified', verifyValue: 'true' },
  ] as const) {
    t.equal(engineOf({ trust: TRUSTED, clientCert: { forwarded } }).hasFeatures, true, JSON.stringify(forwarded))
  }
})
