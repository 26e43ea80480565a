// Certificates forwarded by a trusted proxy, over real sockets: the trusted
// proxy is 127.0.0.1, an untrusted client connects from 127.0.0.2.
import { X509Certificate } from 'node:crypto'
import http from 'node:http'
import t from 'tap'
import { clientCertErrorOf, clientCertOf, createTrustProxy, type ClientCertPolicy } from '../src/index.js'
import { certs } from './support/certs.js'
import { albPem, b64, sf, urlPem, xfccElement } from './support/forwarded-certs.js'
import { listen, recorder, request } from './support/http.js'

const c = certs()
const TRUSTED = '127.0.0.1'
const UNTRUSTED = '127.0.0.2'

/** the part of a tap test the helpers use */
type T = { teardown(fn: () => unknown): void }

async function server(t: T, clientCert: ClientCertPolicy) {
  const log = recorder()
  const proxy = createTrustProxy({ trust: TRUSTED, clientCert })
  const srv = http.createServer((req, res) => {
    if (proxy.handle(req, res, log)) return
    const cert = clientCertOf(req)
    res.setHeader('content-type', 'application/json')
    res.end(
      JSON.stringify({
        cn: cert?.commonNames[0],
        source: cert?.source,
        error: clientCertErrorOf(req),
        headers: req.headers,
        rawHeaders: req.rawHeaders,
      }),
    )
  })
  const port = await listen(t, srv)
  return { port, log }
}

type Case = [
  name: string,
  policy: ClientCertPolicy,
  headers: Record<string, string | string[]>,
  status: number,
  expect: string,
]
const ca = c.root.cert
/** the root and the intermediate in ca: the leaf's issuer is a CA of ca, the path still ends at the root */
const bundle = c.root.cert + c.intermediate.cert

// expect: a common name for 200, else the failure reason
const cases: Case[] = [
  // RFC 9440
  [
    'rfc9440 with in-app verification',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.valid), 'client-cert-chain': sf(c.intermediate) },
    200,
    'client-one',
  ],
  [
    'rfc9440 chain as two header lines',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.valid), 'client-cert-chain': [sf(c.intermediate), sf(c.root)] },
    200,
    'client-one',
  ],
  [
    'rfc9440 without the intermediate',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.valid) },
    403,
    'untrusted',
  ],
  [
    'rfc9440 with the intermediate and the root in ca',
    { forwarded: { source: 'rfc9440', ca: bundle } },
    { 'client-cert': sf(c.valid) },
    200,
    'client-one',
  ],
  [
    'rfc9440 with only the intermediate in ca: no self-signed CA ends the path (as OpenSSL)',
    { forwarded: { source: 'rfc9440', ca: c.intermediate.cert } },
    { 'client-cert': sf(c.valid) },
    403,
    'untrusted',
  ],
  [
    'rfc9440 from another CA',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.wrongCa) },
    403,
    'untrusted',
  ],
  [
    'rfc9440 self-signed',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.selfSigned) },
    403,
    'untrusted',
  ],
  [
    'rfc9440 expired',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.expired), 'client-cert-chain': sf(c.intermediate) },
    403,
    'expired',
  ],
  [
    'rfc9440 not yet valid',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.notYetValid), 'client-cert-chain': sf(c.intermediate) },
    403,
    'not_yet_valid',
  ],
  [
    'rfc9440 valid in 2 hours, default 60 s skew',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.startsSoon), 'client-cert-chain': sf(c.intermediate) },
    403,
    'not_yet_valid',
  ],
  [
    'rfc9440 valid in 2 hours, 3 hours skew',
    { clockSkew: 10800, forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.startsSoon), 'client-cert-chain': sf(c.intermediate) },
    200,
    'client-soon',
  ],
  [
    'rfc9440 server-only EKU',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.serverOnly), 'client-cert-chain': sf(c.intermediate) },
    403,
    'wrong_purpose',
  ],
  [
    'rfc9440 leaf that is a CA',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.caLeaf), 'client-cert-chain': sf(c.intermediate) },
    403,
    'wrong_purpose',
  ],
  [
    'rfc9440 path length violated (intermediate pathlen:0, sub-CA below it)',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.underSub), 'client-cert-chain': `${sf(c.sub)}, ${sf(c.intermediate)}` },
    403,
    'untrusted',
  ],
  [
    'rfc9440 unrelated certificates in the chain are ignored',
    { forwarded: { source: 'rfc9440', ca: bundle } },
    { 'client-cert': sf(c.valid), 'client-cert-chain': sf(c.caLeaf) },
    200,
    'client-one',
  ],
  [
    'rfc9440 path length violated at a CA of ca',
    { forwarded: { source: 'rfc9440', ca: bundle } },
    { 'client-cert': sf(c.underSub), 'client-cert-chain': sf(c.sub) },
    403,
    'untrusted',
  ],
  [
    'rfc9440 issued by a leaf (CA:FALSE)',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.underLeaf), 'client-cert-chain': `${sf(c.serverOnly)}, ${sf(c.intermediate)}` },
    403,
    'untrusted',
  ],
  [
    'rfc9440 expired intermediate',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.underOld), 'client-cert-chain': sf(c.oldIntermediate) },
    403,
    'untrusted',
  ],
  [
    'rfc9440 expired anchor',
    { forwarded: { source: 'rfc9440', ca: c.oldIntermediate.cert } },
    { 'client-cert': sf(c.underOld) },
    403,
    'untrusted',
  ],
  [
    'rfc9440 with a verify header',
    { forwarded: { source: 'rfc9440', verifyHeader: 'x-client-cert-chain-verified', verifyValue: 'true' } },
    { 'client-cert': sf(c.valid), 'x-client-cert-chain-verified': 'true' },
    200,
    'client-one',
  ],
  [
    'rfc9440 with a verify header saying false',
    { forwarded: { source: 'rfc9440', verifyHeader: 'x-client-cert-chain-verified', verifyValue: 'true' } },
    { 'client-cert': sf(c.valid), 'x-client-cert-chain-verified': 'false' },
    403,
    'untrusted',
  ],
  [
    'rfc9440 with the verify header missing',
    { forwarded: { source: 'rfc9440', verifyHeader: 'x-client-cert-chain-verified', verifyValue: 'true' } },
    { 'client-cert': sf(c.valid) },
    403,
    'untrusted',
  ],
  [
    'rfc9440 with proxyVerifies',
    { forwarded: { source: 'rfc9440', proxyVerifies: true } },
    { 'client-cert': sf(c.valid) },
    200,
    'client-one',
  ],
  [
    'rfc9440 with proxyVerifies still checks the leaf',
    { forwarded: { source: 'rfc9440', proxyVerifies: true } },
    { 'client-cert': sf(c.expired) },
    403,
    'expired',
  ],
  ['rfc9440 no certificate', { forwarded: { source: 'rfc9440', ca } }, {}, 403, 'missing'],
  [
    'rfc9440 duplicate Client-Cert (joined by Node)',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': `${sf(c.valid)}, ${sf(c.valid)}` },
    400,
    'malformed',
  ],
  [
    'rfc9440 missing colons',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': b64(c.valid) },
    400,
    'malformed',
  ],
  [
    'rfc9440 one colon',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': `:${b64(c.valid)}` },
    400,
    'malformed',
  ],
  ['rfc9440 empty byte sequence', { forwarded: { source: 'rfc9440', ca } }, { 'client-cert': '::' }, 400, 'malformed'],
  [
    'rfc9440 base64url characters',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.valid).replace(/\+/g, '-').replace(/\//g, '_').replace(/=/g, '') + 'A' },
    400,
    'malformed',
  ],
  [
    'rfc9440 embedded whitespace',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.valid).slice(0, 20) + ' ' + sf(c.valid).slice(20) },
    400,
    'malformed',
  ],
  [
    'rfc9440 padding in the middle',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': ':AA==AAA:' },
    400,
    'malformed',
  ],
  [
    'rfc9440 DER with trailing garbage',
    { forwarded: { source: 'rfc9440', ca } },
    {
      'client-cert': `:${Buffer.concat([Buffer.from(b64(c.valid), 'base64'), Buffer.from([0, 0, 0])]).toString('base64')}:`,
    },
    400,
    'malformed',
  ],
  [
    'rfc9440 not a certificate',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': ':aGVsbG8=:' },
    400,
    'malformed',
  ],
  [
    'rfc9440 chain without Client-Cert',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert-chain': sf(c.intermediate) },
    400,
    'malformed',
  ],
  [
    'rfc9440 empty chain list',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.valid), 'client-cert-chain': ' , ' },
    400,
    'malformed',
  ],
  [
    'rfc9440 chain item not a byte sequence',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.valid), 'client-cert-chain': b64(c.intermediate) },
    400,
    'malformed',
  ],
  [
    'rfc9440 chain longer than maxChainLength',
    { forwarded: { source: 'rfc9440', ca, maxChainLength: 1 } },
    { 'client-cert': sf(c.underSub), 'client-cert-chain': `${sf(c.sub)}, ${sf(c.intermediate)}` },
    400,
    'malformed',
  ],
  [
    'rfc9440 oversized',
    { forwarded: { source: 'rfc9440', ca, maxHeaderBytes: 200 } },
    { 'client-cert': sf(c.valid) },
    431,
    'malformed',
  ],

  // Envoy / Istio XFCC
  [
    'xfcc with in-app verification',
    { forwarded: { source: 'xfcc', ca } },
    { 'x-forwarded-client-cert': xfccElement(c.valid, '', c.valid.cert + c.intermediate.cert) },
    200,
    'client-one',
  ],
  [
    'xfcc with proxyVerifies',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': xfccElement(c.valid) },
    200,
    'client-one',
  ],
  [
    'xfcc chain without the leaf',
    { forwarded: { source: 'xfcc', ca } },
    { 'x-forwarded-client-cert': xfccElement(c.valid, '', c.intermediate.cert) },
    200,
    'client-one',
  ],
  [
    "xfcc: the last element (our proxy's) is used, not a client-injected first one",
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': `${xfccElement(c.caLeaf)},${xfccElement(c.valid)}` },
    200,
    'client-one',
  ],
  [
    'xfcc: an injected last element cannot hide behind quotes',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': `${xfccElement(c.valid)};Subject="CN=x,By=evil;Cert=zzz"` },
    200,
    'client-one',
  ],
  [
    'xfcc quoted values with escaped quotes, commas and semicolons',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    {
      'x-forwarded-client-cert': `By=x;Subject="CN=\\"a,b;c\\"",${xfccElement(c.valid, ';Subject="O=\\"x\\",CN=y;z"')}`,
    },
    200,
    'client-one',
  ],
  [
    'xfcc escaped quote inside a quoted Cert',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': `Cert="\\${urlPem(c.valid)}"` },
    200,
    'client-one',
  ],
  [
    "xfcc: a client's unbalanced quote cannot swallow the element our proxy appended",
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': `x=",${xfccElement(c.valid)}` },
    200,
    'client-one',
  ],
  [
    "xfcc: a client's escaped quotes before our proxy's element",
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': `By="a\\\\",x="\\",${xfccElement(c.valid)}` },
    200,
    'client-one',
  ],
  ['xfcc nothing', { forwarded: { source: 'xfcc', proxyVerifies: true } }, {}, 403, 'missing'],
  [
    'xfcc lower-case keys',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': xfccElement(c.valid).replace('Cert=', 'cert=').replace('Hash=', 'hash=') },
    200,
    'client-one',
  ],
  [
    'xfcc element without Cert',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': 'By=spiffe://x;Hash=abc;URI=spiffe://example.org/a' },
    403,
    'missing',
  ],
  [
    'xfcc Hash that does not match Cert',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': xfccElement(c.valid).replace(/Hash=[0-9a-f]{8}/, 'Hash=00000000') },
    400,
    'malformed',
  ],
  [
    'xfcc unterminated quote',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': 'By=x;Subject="CN=a' },
    400,
    'malformed',
  ],
  [
    'xfcc pair without a key',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': 'By=x;=y' },
    400,
    'malformed',
  ],
  [
    'xfcc pair without =',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': 'By=x;Cert' },
    400,
    'malformed',
  ],
  [
    'xfcc Cert twice in one element',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': xfccElement(c.valid, `;Cert="${urlPem(c.caLeaf)}"`) },
    400,
    'malformed',
  ],
  [
    'xfcc Cert with two PEM blocks',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': `Cert="${encodeURIComponent(c.valid.cert + c.intermediate.cert)}"` },
    400,
    'malformed',
  ],
  [
    'xfcc Cert with bad percent-encoding',
    { forwarded: { source: 'xfcc', proxyVerifies: true } },
    { 'x-forwarded-client-cert': 'Cert="%E0%A4%A"' },
    400,
    'malformed',
  ],
  [
    'xfcc Chain that is not PEM',
    { forwarded: { source: 'xfcc', ca } },
    { 'x-forwarded-client-cert': xfccElement(c.valid, ';Chain=abc') },
    400,
    'malformed',
  ],
  [
    'xfcc chain from another CA',
    { forwarded: { source: 'xfcc', ca: c.otherRoot.cert } },
    { 'x-forwarded-client-cert': xfccElement(c.valid, '', c.valid.cert + c.intermediate.cert) },
    403,
    'untrusted',
  ],

  // nginx
  [
    'nginx SUCCESS',
    { forwarded: { source: 'nginx' } },
    { 'x-ssl-client-cert': urlPem(c.valid), 'x-ssl-client-verify': 'SUCCESS' },
    200,
    'client-one',
  ],
  [
    'nginx custom header names',
    { forwarded: { source: 'nginx', certHeader: 'X-Client-Cert', verifyHeader: 'X-Client-Verify' } },
    { 'x-client-cert': urlPem(c.valid), 'x-client-verify': 'SUCCESS' },
    200,
    'client-one',
  ],
  [
    'nginx SUCCESS and in-app verification',
    { forwarded: { source: 'nginx', ca: bundle } },
    { 'x-ssl-client-cert': urlPem(c.valid), 'x-ssl-client-verify': 'SUCCESS' },
    200,
    'client-one',
  ],
  [
    'nginx SUCCESS but the in-app verification fails',
    { forwarded: { source: 'nginx', ca: c.otherRoot.cert } },
    { 'x-ssl-client-cert': urlPem(c.valid), 'x-ssl-client-verify': 'SUCCESS' },
    403,
    'untrusted',
  ],
  [
    'nginx PEM with tab-indented lines (deprecated $ssl_client_cert)',
    { forwarded: { source: 'nginx' } },
    { 'x-ssl-client-cert': urlPem(c.valid).replace(/%0A/g, '%0A%09'), 'x-ssl-client-verify': 'SUCCESS' },
    200,
    'client-one',
  ],
  [
    'nginx FAILED:certificate has expired',
    { forwarded: { source: 'nginx' } },
    { 'x-ssl-client-cert': urlPem(c.expired), 'x-ssl-client-verify': 'FAILED:certificate has expired' },
    403,
    'expired',
  ],
  [
    'nginx FAILED:certificate revoked',
    { forwarded: { source: 'nginx' } },
    { 'x-ssl-client-cert': urlPem(c.revoked), 'x-ssl-client-verify': 'FAILED:certificate revoked' },
    403,
    'revoked',
  ],
  [
    'nginx FAILED:unable to get local issuer certificate',
    { forwarded: { source: 'nginx' } },
    { 'x-ssl-client-cert': urlPem(c.wrongCa), 'x-ssl-client-verify': 'FAILED:unable to get local issuer certificate' },
    403,
    'untrusted',
  ],
  [
    'nginx NONE, refused with a status that has no reason phrase',
    { status: 499, forwarded: { source: 'nginx' } },
    { 'x-ssl-client-verify': 'NONE' },
    499,
    'missing',
  ],
  ['nginx NONE', { forwarded: { source: 'nginx' } }, { 'x-ssl-client-verify': 'NONE' }, 403, 'missing'],
  [
    'nginx empty certificate header',
    { forwarded: { source: 'nginx' } },
    { 'x-ssl-client-cert': '', 'x-ssl-client-verify': 'SUCCESS' },
    403,
    'missing',
  ],
  [
    'nginx certificate without verify header',
    { forwarded: { source: 'nginx' } },
    { 'x-ssl-client-cert': urlPem(c.valid) },
    403,
    'untrusted',
  ],
  [
    'nginx verify value in another case',
    { forwarded: { source: 'nginx' } },
    { 'x-ssl-client-cert': urlPem(c.valid), 'x-ssl-client-verify': 'success' },
    403,
    'untrusted',
  ],
  [
    'nginx two PEM blocks',
    { forwarded: { source: 'nginx' } },
    { 'x-ssl-client-cert': encodeURIComponent(c.valid.cert + c.intermediate.cert), 'x-ssl-client-verify': 'SUCCESS' },
    400,
    'malformed',
  ],
  [
    'nginx text before the PEM block',
    { forwarded: { source: 'nginx' } },
    { 'x-ssl-client-cert': 'x' + urlPem(c.valid), 'x-ssl-client-verify': 'SUCCESS' },
    400,
    'malformed',
  ],
  [
    'nginx PEM without END',
    { forwarded: { source: 'nginx' } },
    {
      'x-ssl-client-cert': encodeURIComponent(c.valid.cert.replace('-----END CERTIFICATE-----', '')),
      'x-ssl-client-verify': 'SUCCESS',
    },
    400,
    'malformed',
  ],
  [
    'nginx PEM with a bad body',
    { forwarded: { source: 'nginx' } },
    {
      'x-ssl-client-cert': encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
      'x-ssl-client-verify': 'SUCCESS',
    },
    400,
    'malformed',
  ],

  // HAProxy
  [
    'haproxy ssl_c_verify 0',
    { forwarded: { source: 'haproxy' } },
    { 'x-ssl-client-cert': b64(c.valid), 'x-ssl-client-verify': '0' },
    200,
    'client-one',
  ],
  [
    'haproxy ssl_c_verify 10 (expired)',
    { forwarded: { source: 'haproxy' } },
    { 'x-ssl-client-cert': b64(c.expired), 'x-ssl-client-verify': '10' },
    403,
    'expired',
  ],
  [
    'haproxy ssl_c_verify 9 (not yet valid)',
    { forwarded: { source: 'haproxy' } },
    { 'x-ssl-client-cert': b64(c.notYetValid), 'x-ssl-client-verify': '9' },
    403,
    'not_yet_valid',
  ],
  [
    'haproxy ssl_c_verify 26 (purpose)',
    { forwarded: { source: 'haproxy' } },
    { 'x-ssl-client-cert': b64(c.serverOnly), 'x-ssl-client-verify': '26' },
    403,
    'wrong_purpose',
  ],
  [
    'haproxy ssl_c_verify 20 (unknown issuer)',
    { forwarded: { source: 'haproxy' } },
    { 'x-ssl-client-cert': b64(c.wrongCa), 'x-ssl-client-verify': '20' },
    403,
    'untrusted',
  ],
  [
    'haproxy no certificate',
    { forwarded: { source: 'haproxy' } },
    { 'x-ssl-client-cert': '', 'x-ssl-client-verify': '0' },
    403,
    'missing',
  ],
  ['haproxy no headers at all', { forwarded: { source: 'haproxy' } }, {}, 403, 'missing'],
  [
    'haproxy base64 with a newline',
    { forwarded: { source: 'haproxy' } },
    { 'x-ssl-client-cert': b64(c.valid).slice(0, 64) + '\t' + b64(c.valid).slice(64), 'x-ssl-client-verify': '0' },
    400,
    'malformed',
  ],
  [
    'haproxy base64 with bad length',
    { forwarded: { source: 'haproxy' } },
    { 'x-ssl-client-cert': b64(c.valid).slice(1), 'x-ssl-client-verify': '0' },
    400,
    'malformed',
  ],

  // AWS ALB
  [
    'aws-alb verify mode',
    { forwarded: { source: 'aws-alb', mode: 'verify' } },
    { 'x-amzn-mtls-clientcert-leaf': albPem(c.valid.cert), 'x-amzn-mtls-clientcert-subject': 'CN=client-one' },
    200,
    'client-one',
  ],
  [
    'aws-alb verify mode, + and %2B decode alike',
    { forwarded: { source: 'aws-alb', mode: 'verify' } },
    { 'x-amzn-mtls-clientcert-leaf': urlPem(c.valid) },
    200,
    'client-one',
  ],
  [
    'aws-alb verify mode still checks expiry (ignoreClientCertificateExpiry)',
    { forwarded: { source: 'aws-alb', mode: 'verify' } },
    { 'x-amzn-mtls-clientcert-leaf': albPem(c.expired.cert) },
    403,
    'expired',
  ],
  [
    'aws-alb passthrough with a CA bundle',
    { forwarded: { source: 'aws-alb', mode: 'passthrough', ca } },
    { 'x-amzn-mtls-clientcert': albPem(c.valid.cert + c.intermediate.cert) },
    200,
    'client-one',
  ],
  [
    'aws-alb passthrough, wrong CA',
    { forwarded: { source: 'aws-alb', mode: 'passthrough', ca } },
    { 'x-amzn-mtls-clientcert': albPem(c.wrongCa.cert) },
    403,
    'untrusted',
  ],
  ['aws-alb nothing', { forwarded: { source: 'aws-alb', mode: 'verify' } }, {}, 403, 'missing'],
  [
    'aws-alb leaf with two blocks',
    { forwarded: { source: 'aws-alb', mode: 'verify' } },
    { 'x-amzn-mtls-clientcert-leaf': albPem(c.valid.cert + c.intermediate.cert) },
    400,
    'malformed',
  ],
  [
    'aws-alb passthrough too long',
    { forwarded: { source: 'aws-alb', mode: 'passthrough', ca, maxChainLength: 1 } },
    { 'x-amzn-mtls-clientcert': albPem(c.underSub.cert + c.sub.cert + c.intermediate.cert) },
    400,
    'malformed',
  ],

  // Traefik
  [
    'traefik with in-app verification',
    { forwarded: { source: 'traefik', ca } },
    { 'x-forwarded-tls-client-cert': `${b64(c.valid)},${b64(c.intermediate)}` },
    200,
    'client-one',
  ],
  [
    'traefik with proxyVerifies',
    { forwarded: { source: 'traefik', proxyVerifies: true } },
    { 'x-forwarded-tls-client-cert': b64(c.valid) },
    200,
    'client-one',
  ],
  ['traefik nothing', { forwarded: { source: 'traefik', proxyVerifies: true } }, {}, 403, 'missing'],
  [
    'traefik empty list',
    { forwarded: { source: 'traefik', proxyVerifies: true } },
    { 'x-forwarded-tls-client-cert': ',' },
    400,
    'malformed',
  ],
  [
    'traefik URL-escaped (2.8 format) is refused',
    { forwarded: { source: 'traefik', proxyVerifies: true } },
    { 'x-forwarded-tls-client-cert': encodeURIComponent(b64(c.valid)) },
    400,
    'malformed',
  ],
  [
    'traefik chain too long',
    { forwarded: { source: 'traefik', proxyVerifies: true, maxChainLength: 1 } },
    { 'x-forwarded-tls-client-cert': `${b64(c.underSub)},${b64(c.sub)},${b64(c.intermediate)}` },
    400,
    'malformed',
  ],
]

t.test('forwarded certificates from the trusted proxy', async t => {
  for (const [name, policy, headers, status, expect] of cases) {
    const { port, log } = await server(t, policy)
    const res = await request(port, { from: TRUSTED, headers })
    t.equal(res.status, status, `${name}: status`)
    if (status === 200) {
      const body = JSON.parse(res.body)
      t.equal(body.cn, expect, `${name}: common name`)
      t.equal(body.source, policy.forwarded!.source, `${name}: source`)
    } else {
      t.notMatch(res.body, expect, `${name}: generic body`)
      t.equal((log.entries[0]?.obj.clientCert as { reason?: string } | undefined)?.reason, expect, `${name}: reason`)
    }
  }
})

// Each source, a certificate the app would accept from its proxy, sent
// directly by an attacker.
const forged: [string, ClientCertPolicy, Record<string, string>][] = [
  [
    'rfc9440',
    { forwarded: { source: 'rfc9440', ca } },
    { 'client-cert': sf(c.valid), 'client-cert-chain': sf(c.intermediate) },
  ],
  ['xfcc', { forwarded: { source: 'xfcc', proxyVerifies: true } }, { 'x-forwarded-client-cert': xfccElement(c.valid) }],
  [
    'nginx',
    { forwarded: { source: 'nginx' } },
    { 'x-ssl-client-cert': urlPem(c.valid), 'x-ssl-client-verify': 'SUCCESS' },
  ],
  ['haproxy', { forwarded: { source: 'haproxy' } }, { 'x-ssl-client-cert': b64(c.valid), 'x-ssl-client-verify': '0' }],
  [
    'aws-alb',
    { forwarded: { source: 'aws-alb', mode: 'verify' } },
    {
      'x-amzn-mtls-clientcert-leaf': albPem(c.valid.cert),
      'X-Amzn-Mtls-Clientcert-Subject': 'CN=client-one',
    },
  ],
  [
    'aws-alb passthrough',
    { forwarded: { source: 'aws-alb', mode: 'passthrough', ca } },
    {
      'x-amzn-mtls-clientcert': albPem(c.valid.cert + c.intermediate.cert),
    },
  ],
  [
    'traefik',
    { forwarded: { source: 'traefik', proxyVerifies: true } },
    {
      'x-forwarded-tls-client-cert': b64(c.valid),
      'x-forwarded-tls-client-cert-info': 'Subject%3D%22CN%3Dclient-one%22',
    },
  ],
  [
    'rfc9440 + custom verify header',
    { forwarded: { source: 'rfc9440', verifyHeader: 'x-verified', verifyValue: 'yes' } },
    { 'client-cert': sf(c.valid), 'x-verified': 'yes' },
  ],
]

t.test('forged certificate headers from an untrusted peer are refused and deleted', async t => {
  for (const [name, policy, headers] of forged) {
    const { port, log } = await server(t, { ...policy, mode: 'optional' })
    const trusted = await request(port, { from: TRUSTED, headers })
    t.equal(JSON.parse(trusted.body).cn, 'client-one', `${name}: accepted from the proxy`)
    const res = await request(port, { from: UNTRUSTED, headers: { ...headers, 'x-other': 'kept' } })
    t.equal(res.status, 200, `${name}: optional mode lets the request through`)
    const body = JSON.parse(res.body)
    t.equal(body.cn, undefined, `${name}: no certificate`)
    t.same(
      body.error,
      { reason: 'missing', detail: 'certificate headers from an untrusted peer are ignored' },
      `${name}: reason`,
    )
    for (const h of Object.keys(headers)) {
      t.equal(body.headers[h.toLowerCase()], undefined, `${name}: ${h} deleted from headers`)
      t.notOk(
        body.rawHeaders.some((r: string) => r.toLowerCase() === h.toLowerCase()),
        `${name}: ${h} deleted from rawHeaders`,
      )
    }
    t.equal(body.headers['x-other'], 'kept', `${name}: other headers kept`)
    t.same(log.entries, [], `${name}: nothing logged for a missing certificate in optional mode`)
    const required = await server(t, policy)
    const refused = await request(required.port, { from: UNTRUSTED, headers })
    t.equal(refused.status, 403, `${name}: required mode refuses`)
  }
})

t.test('headers of other sources are left alone', async t => {
  const { port } = await server(t, { mode: 'optional', forwarded: { source: 'nginx' } })
  const body = JSON.parse(
    (await request(port, { from: UNTRUSTED, headers: { 'client-cert': ':AAAA:', 'x-ssl-client-verify': 'SUCCESS' } }))
      .body,
  )
  t.equal(body.headers['client-cert'], ':AAAA:')
  t.equal(body.headers['x-ssl-client-verify'], undefined)
})

t.test('responses that depend on a forwarded certificate are not cacheable', async t => {
  const { port } = await server(t, { forwarded: { source: 'rfc9440', ca } })
  const res = await request(port, {
    from: TRUSTED,
    headers: { 'client-cert': sf(c.valid), 'client-cert-chain': sf(c.intermediate) },
  })
  t.equal(res.status, 200)
  t.equal(res.headers.vary, 'client-cert, client-cert-chain')
  t.equal(res.headers['cache-control'], 'no-store')
  const nginx = await server(t, { mode: 'optional', forwarded: { source: 'nginx' } })
  const none = await request(nginx.port, { from: TRUSTED })
  t.equal(none.headers.vary, 'x-ssl-client-cert, x-ssl-client-verify', 'Vary even without a certificate')
  t.equal(none.headers['cache-control'], undefined, 'no-store only when a certificate was used')
})

t.test('Vary is appended to, Cache-Control set by the app wins', async t => {
  const proxy = createTrustProxy({ trust: TRUSTED, clientCert: { forwarded: { source: 'haproxy' } } })
  const srv = http.createServer((req, res) => {
    res.setHeader('vary', 'accept')
    res.setHeader('cache-control', 'private, max-age=5')
    if (proxy.handle(req, res)) return
    res.end('ok')
  })
  const port = await listen(t, srv)
  const res = await request(port, {
    from: TRUSTED,
    headers: { 'x-ssl-client-cert': b64(c.valid), 'x-ssl-client-verify': '0' },
  })
  t.equal(res.status, 200)
  t.equal(res.headers.vary, 'accept, x-ssl-client-cert, x-ssl-client-verify')
  t.equal(res.headers['cache-control'], 'private, max-age=5')
})

t.test('forwarded results are cached by header values for at most a minute', async t => {
  const proxy = createTrustProxy({ trust: TRUSTED, clientCert: { clockSkew: 0, forwarded: { source: 'rfc9440', ca } } })
  const headers = { 'client-cert': sf(c.underOld), 'client-cert-chain': sf(c.oldIntermediate) }
  let last: object = {}
  const send = () => {
    const req = { method: 'GET', headers: { ...headers }, socket: { remoteAddress: TRUSTED } }
    const res = { setHeader() {}, getHeader() {}, hasHeader: () => false, writeHead() {}, end() {} }
    proxy.handle(req as never, res as never)
    last = req
    return clientCertOf(req)?.commonNames[0] ?? clientCertErrorOf(req)!.reason
  }
  // the intermediate expired two days ago: move the clock around its expiry
  const expiry = new Date(new X509Certificate(c.oldIntermediate.cert).validTo).getTime()
  const realNow = Date.now
  t.teardown(() => {
    Date.now = realNow
  })
  t.equal(send(), 'untrusted', 'now: the intermediate has expired')
  Date.now = () => expiry - 30_000
  t.equal(send(), 'client-under-old', 'clock before the cached entry: verified again, valid then')
  Date.now = () => expiry + 10_000
  // the path's earliest notAfter is checked per request, cached or not
  t.equal(send(), 'untrusted', 'within a minute, the intermediate expired: the cached verification is refused')
  t.match(clientCertErrorOf(last as never), { detail: /^a CA of its path expired at / })
  Date.now = () => expiry + 40_000
  t.equal(send(), 'untrusted', 'a minute later: verified again')
  Date.now = realNow
  t.equal(send(), 'untrusted')

  // the cache is bounded: many distinct values, then the first one again
  const accepting = createTrustProxy({ trust: TRUSTED, clientCert: { forwarded: { source: 'rfc9440', ca } } })
  const res = { setHeader() {}, getHeader() {}, hasHeader: () => false, writeHead() {}, end() {} }
  const valid = { 'client-cert': sf(c.valid), 'client-cert-chain': sf(c.intermediate) }
  const verdict = (h: Record<string, string>) => {
    const req = { method: 'GET', headers: h, socket: { remoteAddress: TRUSTED } }
    accepting.handle(req as never, res as never)
    return clientCertOf(req)?.commonNames[0] ?? clientCertErrorOf(req)!.reason
  }
  t.equal(verdict({ ...valid }), 'client-one')
  for (let i = 0; i < 200; i++) t.equal(verdict({ 'client-cert': `:${'A'.repeat(4 * (i + 1))}:` }), 'malformed')
  t.equal(verdict({ ...valid }), 'client-one', 'evicted and verified again')
})

t.test('the attached certificate is frozen (it is shared between requests)', async t => {
  const proxy = createTrustProxy({ trust: TRUSTED, clientCert: { forwarded: { source: 'haproxy' } } })
  const req = {
    method: 'GET',
    headers: { 'x-ssl-client-cert': b64(c.valid), 'x-ssl-client-verify': '0' },
    socket: { remoteAddress: TRUSTED },
  }
  proxy.handle(req as never, { setHeader() {}, getHeader() {}, hasHeader: () => false } as never)
  const cert = clientCertOf(req)!
  t.ok(Object.isFrozen(cert))
  t.ok(Object.isFrozen(cert.san.uri))
  t.throws(() => {
    ;(cert.san.uri as string[]).push('spiffe://evil')
  })
})
