// The clientCert option is validated at startup, naming the option and the value.
import t from 'tap'
import { createTrustProxy, ProxyAwareConfigError } from '../src/index.js'
import { certs } from './support/certs.js'
import { engineOf } from './support/engine.js'

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
  [
    { allow: { cn: ['x'] } },
    'clientCert.allow.cn',
    /is not a known option \(known: fingerprint256, uri, dns, email, commonName\)/,
  ],
  [
    { allow: { fingerprint256: ['abc'] } },
    'clientCert.allow.fingerprint256',
    /must be an array of strings, got \["abc"\]/,
  ],
  [{ allow: { uri: 'spiffe://x' } }, 'clientCert.allow.uri', /must be an array of strings, got "spiffe:\/\/x"/],
  [{ allow: { dns: [1] } }, 'clientCert.allow.dns', /must be an array of strings/],
  [{ forwarded: 'nginx' }, 'clientCert.forwarded', /must be an object with a source, got "nginx"/],
  [
    { forwarded: {} },
    'clientCert.forwarded.source',
    /must be one of rfc9440, xfcc, nginx, haproxy, aws-alb, traefik, got undefined/,
  ],
  [{ forwarded: { source: 'envoy' } }, 'clientCert.forwarded.source', /got "envoy"/],
  [{ forwarded: { source: 'nginx', verify: true } }, 'clientCert.forwarded.verify', /is not a known option/],
  // no verification signal and no CA bundle
  [
    { forwarded: { source: 'rfc9440' } },
    'clientCert.forwarded.ca',
    /is required: the rfc9440 source carries no verification signal/,
  ],
  [{ forwarded: { source: 'xfcc' } }, 'clientCert.forwarded.ca', /is required: the xfcc source/],
  [
    { forwarded: { source: 'traefik', proxyVerifies: false } },
    'clientCert.forwarded.ca',
    /is required: the traefik source/,
  ],
  [{ forwarded: { source: 'rfc9440', ca: [] } }, 'clientCert.forwarded.ca', /is required/],
  [
    { forwarded: { source: 'rfc9440', proxyVerifies: 'yes' } },
    'clientCert.forwarded.proxyVerifies',
    /must be a boolean, got "yes"/,
  ],
  [
    { forwarded: { source: 'rfc9440', ca: 'not pem' } },
    'clientCert.forwarded.ca',
    /holds no PEM certificate: "not pem"/,
  ],
  [
    { forwarded: { source: 'rfc9440', ca: 42 } },
    'clientCert.forwarded.ca',
    /must be PEM \(a string, a Buffer or an array of them\), got 42/,
  ],
  [
    { forwarded: { source: 'rfc9440', ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' } },
    'clientCert.forwarded.ca',
    /holds a certificate that does not parse/,
  ],
  [
    { forwarded: { source: 'rfc9440', ca: c.valid.cert } },
    'clientCert.forwarded.ca',
    /holds a certificate that is not a CA: "CN=client-one/,
  ],
  [
    { forwarded: { source: 'rfc9440', verifyHeader: 'x-verified' } },
    'clientCert.forwarded.verifyValue',
    /and verifyHeader go together, got undefined and "x-verified"/,
  ],
  [{ forwarded: { source: 'rfc9440', verifyValue: 'true' } }, 'clientCert.forwarded.verifyValue', /go together/],
  [
    { forwarded: { source: 'rfc9440', verifyHeader: 'x-verified', verifyValue: '' } },
    'clientCert.forwarded.verifyValue',
    /must be a non-empty string, got ""/,
  ],
  [
    { forwarded: { source: 'rfc9440', verifyHeader: 'bad header', verifyValue: 'x' } },
    'clientCert.forwarded.verifyHeader',
    /must be a header name, got "bad header"/,
  ],
  [
    { forwarded: { source: 'nginx', verifyValue: 'OK' } },
    'clientCert.forwarded.verifyValue',
    /is fixed for nginx \(SUCCESS\)/,
  ],
  [
    { forwarded: { source: 'haproxy', verifyValue: 'OK' } },
    'clientCert.forwarded.verifyValue',
    /is fixed for haproxy \(0\)/,
  ],
  [{ forwarded: { source: 'nginx', certHeader: 'x:y' } }, 'clientCert.forwarded.certHeader', /must be a header name/],
  [
    { forwarded: { source: 'xfcc', proxyVerifies: true, certHeader: 'x-cert' } },
    'clientCert.forwarded.certHeader',
    /applies to the nginx and haproxy sources only/,
  ],
  [
    { forwarded: { source: 'nginx', maxHeaderBytes: 0 } },
    'clientCert.forwarded.maxHeaderBytes',
    /from 1 to 1048576, got 0/,
  ],
  [
    { forwarded: { source: 'nginx', maxChainLength: 100 } },
    'clientCert.forwarded.maxChainLength',
    /from 1 to 32, got 100/,
  ],
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
    {
      allow: {
        fingerprint256: ['AB'.repeat(32)],
        uri: [],
        dns: ['a.example'],
        email: ['a@example.org'],
        commonName: ['a'],
      },
    },
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
    const proxy = engineOf({ trust: 'loopback', clientCert: clientCert as never })
    t.equal(proxy.hasFeatures, true, JSON.stringify(clientCert))
  }
  t.equal(engineOf({ trust: 'loopback' }).hasFeatures, false, 'no clientCert, no feature')
})

t.test('a request object without rawHeaders still has forged headers deleted', async t => {
  const proxy = createTrustProxy({
    trust: '10.0.0.1',
    clientCert: { mode: 'optional', forwarded: { source: 'nginx' } },
  })
  const req = {
    method: 'GET',
    headers: { 'x-ssl-client-cert': 'x', 'x-ssl-client-verify': 'SUCCESS' },
    socket: { remoteAddress: '192.0.2.1' },
  }
  const res = { setHeader() {}, getHeader() {}, hasHeader: () => false }
  t.equal(proxy.handle(req as never, res as never), false)
  t.same(req.headers, {})
})

t.test(
  'a trust that believes arbitrary peers is refused with forwarded certificates (documentation-address probe)',
  async t => {
    const forwarded = { mode: 'optional', forwarded: { source: 'nginx' } } as const
    const everyone: [string, unknown][] = [
      ['a function trusting everyone', () => true],
      ['a function trusting the first hop', (_a: string, hop: number) => hop === 0],
      ['a function trusting the second hop only', (_a: string, hop: number) => hop === 1],
      ['a function trusting every IPv6 address', (a: string) => a.includes(':')],
      ['a function trusting every public address', (a: string) => !a.startsWith('10.') && !a.startsWith('127.')],
      ['a list covering both IPv4 halves', ['0.0.0.0/1', '128.0.0.0/1']],
      ['a list with a wide IPv6 range', ['loopback', '8000::/1', '2000::/4']],
      ['a string with all global unicast IPv6', '10.0.0.1, 2000::/3'],
      // (/0 ranges are refused by the trust option itself)
    ]
    for (const [name, trust] of everyone) {
      let error: unknown
      try {
        createTrustProxy({ trust: trust as never, clientCert: forwarded })
      } catch (err) {
        error = err
      }
      t.type(error, ProxyAwareConfigError, name)
      t.equal((error as ProxyAwareConfigError).option, 'trust', name)
      t.match((error as Error).message, /trusts .*, a documentation address .* that is never your proxy/, name)
    }
    // the attack the startup check prevents: a direct client forging the proxy's headers
    const req = {
      method: 'GET',
      headers: { 'x-ssl-client-cert': encodeURIComponent(c.selfSigned.cert), 'x-ssl-client-verify': 'SUCCESS' },
      socket: { remoteAddress: '203.0.113.7' },
    }
    t.throws(
      () => createTrustProxy({ trust: () => true, clientCert: forwarded }).handle(req as never, {} as never),
      ProxyAwareConfigError,
    )
    // a function or list naming the proxies starts; without forwarded certificates the probe does not apply
    const probed: string[] = []
    createTrustProxy({ trust: (a, hop) => (probed.push(`${a}@${hop}`), a === '10.0.0.1'), clientCert: forwarded })
    t.same(
      probed.sort(),
      [
        '192.0.2.1@0',
        '192.0.2.1@1',
        '198.51.100.1@0',
        '198.51.100.1@1',
        '2001:db8::1@0',
        '2001:db8::1@1',
        '203.0.113.1@0',
        '203.0.113.1@1',
      ],
      'the probe asks about documentation addresses, hops 0 and 1',
    )
    t.ok(createTrustProxy({ trust: ['loopback', 'private', '2001:db8:ffff::/48'], clientCert: forwarded }))
    t.ok(createTrustProxy({ trust: () => true, clientCert: {} }))
  },
)
