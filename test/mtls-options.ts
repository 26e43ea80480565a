// The clientCert option is validated at startup, naming the option and the value.
import t from 'tap'
import { createTrustProxy, ProxyAwareConfigError } from '../src/index.js'
import { certs } from './fixtures/certs.js'

const c = certs()

const bad: [unknown, string, RegExp][] = [
  ['yes', 'clientCert', /must be an object, got "yes"/],
  [[], 'clientCert', /must be an object, got \[\]/],
  [{ mode: 'maybe' }, 'clientCert.mode', /must be 'required' or 'optional', got "maybe"/],
  [{ status: 200 }, 'clientCert.status', /must be a 4xx status code, got 200/],
  [{ status: 403.5 }, 'clientCert.status', /must be a 4xx status code/],
  [{ clockSkew: -1 }, 'clientCert.clockSkew', /from 0 to 86400, got -1/],
  [{ clockSkew: '60' }, 'clientCert.clockSkew', /got "60"/],
  [{ clockskew: 60 }, 'clientCert.clockskew', /is not a known option/],
  [{ allow: 'client-one' }, 'clientCert.allow', /must be an object of lists or a function, got "client-one"/],
  [{ allow: {} }, 'clientCert.allow', /lists nothing/],
  [{ allow: { cn: ['x'] } }, 'clientCert.allow.cn', /is not a known option \(known: fingerprint256, uri, dns, email, commonName\)/],
  [{ allow: { fingerprint256: ['abc'] } }, 'clientCert.allow.fingerprint256', /must be an array of strings, got \["abc"\]/],
  [{ allow: { uri: 'spiffe://x' } }, 'clientCert.allow.uri', /must be an array of strings, got "spiffe:\/\/x"/],
  [{ allow: { dns: [1] } }, 'clientCert.allow.dns', /must be an array of strings/],
  [{ forwarded: 'nginx' }, 'clientCert.forwarded', /must be an object with a source, got "nginx"/],
  [{ forwarded: {} }, 'clientCert.forwarded.source', /must be one of rfc9440, xfcc, nginx, haproxy, aws-alb, traefik, got undefined/],
  [{ forwarded: { source: 'envoy' } }, 'clientCert.forwarded.source', /got "envoy"/],
  [{ forwarded: { source: 'nginx', verify: true } }, 'clientCert.forwarded.verify', /is not a known option/],
  // no verification signal and no CA bundle
  [{ forwarded: { source: 'rfc9440' } }, 'clientCert.forwarded.ca', /is required: the rfc9440 source carries no verification signal/],
  [{ forwarded: { source: 'xfcc' } }, 'clientCert.forwarded.ca', /is required: the xfcc source/],
  [{ forwarded: { source: 'traefik', proxyVerifies: false } }, 'clientCert.forwarded.ca', /is required: the traefik source/],
  [{ forwarded: { source: 'rfc9440', ca: [] } }, 'clientCert.forwarded.ca', /is required/],
  [{ forwarded: { source: 'rfc9440', proxyVerifies: 'yes' } }, 'clientCert.forwarded.proxyVerifies', /must be a boolean, got "yes"/],
  [{ forwarded: { source: 'rfc9440', ca: 'not pem' } }, 'clientCert.forwarded.ca', /holds no PEM certificate: "not pem"/],
  [{ forwarded: { source: 'rfc9440', ca: 42 } }, 'clientCert.forwarded.ca', /must be PEM \(a string, a Buffer or an array of them\), got 42/],
  [{ forwarded: { source: 'rfc9440', ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' } }, 'clientCert.forwarded.ca', /holds a certificate that does not parse/],
  [{ forwarded: { source: 'rfc9440', ca: c.valid.cert } }, 'clientCert.forwarded.ca', /holds a certificate that is not a CA: "CN=client-one/],
  [{ forwarded: { source: 'rfc9440', verifyHeader: 'x-verified' } }, 'clientCert.forwarded.verifyValue', /and verifyHeader go together, got undefined and "x-verified"/],
  [{ forwarded: { source: 'rfc9440', verifyValue: 'true' } }, 'clientCert.forwarded.verifyValue', /go together/],
  [{ forwarded: { source: 'rfc9440', verifyHeader: 'x-verified', verifyValue: '' } }, 'clientCert.forwarded.verifyValue', /must be a non-empty string, got ""/],
  [{ forwarded: { source: 'rfc9440', verifyHeader: 'bad header', verifyValue: 'x' } }, 'clientCert.forwarded.verifyHeader', /must be a header name, got "bad header"/],
  [{ forwarded: { source: 'nginx', verifyValue: 'OK' } }, 'clientCert.forwarded.verifyValue', /is fixed for nginx \(SUCCESS\)/],
  [{ forwarded: { source: 'haproxy', verifyValue: 'OK' } }, 'clientCert.forwarded.verifyValue', /is fixed for haproxy \(0\)/],
  [{ forwarded: { source: 'nginx', certHeader: 'x:y' } }, 'clientCert.forwarded.certHeader', /must be a header name/],
  [{ forwarded: { source: 'xfcc', proxyVerifies: true, certHeader: 'x-cert' } }, 'clientCert.forwarded.certHeader', /applies to the nginx and haproxy sources only/],
  [{ forwarded: { source: 'nginx', maxHeaderBytes: 0 } }, 'clientCert.forwarded.maxHeaderBytes', /from 1 to 1048576, got 0/],
  [{ forwarded: { source: 'nginx', maxChainLength: 100 } }, 'clientCert.forwarded.maxChainLength', /from 1 to 32, got 100/],
]

t.test('bad clientCert options throw ProxyAwareConfigError at startup', async t => {
  for (const [clientCert, option, message] of bad) {
    let error: unknown
    try {
      createTrustProxy({ trust: 'loopback', clientCert: clientCert as never })
    } catch (err) {
      error = err
    }
    t.type(error, ProxyAwareConfigError, option)
    t.equal((error as ProxyAwareConfigError).option, option)
    t.match((error as Error).message, message, option)
    t.match((error as Error).message, `proxy-aware: option "${option}"`)
  }
})

t.test('good clientCert options compile', async t => {
  const good: unknown[] = [
    {},
    { mode: 'optional', status: 401, clockSkew: 0 },
    { allow: { fingerprint256: ['AB'.repeat(32)], uri: [], dns: ['a.example'], email: ['a@example.org'], commonName: ['a'] } },
    { allow: () => true },
    { forwarded: { source: 'nginx' } },
    { forwarded: { source: 'haproxy', certHeader: 'X-Client-Cert', verifyHeader: 'X-Client-Verify' } },
    { forwarded: { source: 'aws-alb', mode: 'verify' } },
    { forwarded: { source: 'aws-alb', mode: 'passthrough', ca: c.root.cert } },
    { forwarded: { source: 'rfc9440', ca: c.root.cert } },
    { forwarded: { source: 'rfc9440', ca: Buffer.from(c.root.cert + c.intermediate.cert) } },
    { forwarded: { source: 'xfcc', ca: [c.root.cert, Buffer.from(c.otherRoot.cert)] } },
    { forwarded: { source: 'traefik', proxyVerifies: true, maxHeaderBytes: 65536, maxChainLength: 3 } },
    { forwarded: { source: 'rfc9440', verifyHeader: 'X-Client-Cert-Chain-Verified', verifyValue: 'true' } },
  ]
  for (const clientCert of good) {
    const proxy = createTrustProxy({ trust: 'loopback', clientCert: clientCert as never })
    t.equal(proxy.hasFeatures, true, JSON.stringify(clientCert))
  }
  t.equal(createTrustProxy({ trust: 'loopback' }).hasFeatures, false, 'no clientCert, no feature')
})

t.test('a request object without rawHeaders still has forged headers deleted', async t => {
  const proxy = createTrustProxy({ trust: '10.0.0.1', clientCert: { mode: 'optional', forwarded: { source: 'nginx' } } })
  const req = {
    method: 'GET',
    headers: { 'x-ssl-client-cert': 'x', 'x-ssl-client-verify': 'SUCCESS' },
    socket: { remoteAddress: '192.0.2.1' },
  }
  const res = { setHeader() {}, getHeader() {}, hasHeader: () => false }
  t.equal(proxy.handle(req as never, res as never), false)
  t.same(req.headers, {})
})
