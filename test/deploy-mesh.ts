// Kubernetes ingress-nginx and Istio/Envoy: no cluster here, so the requests
// they send to the app are recorded under docs/deployments/mesh/ (header
// shapes from their sources, see docs/deployments.md) and replayed byte for
// byte from the proxy's address (127.0.0.1) to the Fastify and Express apps.
// The load balancer in front of them is 10.0.0.7, the client 203.0.113.9,
// and 6.6.6.6 an address the client forged.
import { createHash, X509Certificate } from 'node:crypto'
import { connect } from 'node:net'
import t from 'tap'
import { certs } from './support/certs.js'
import { FRAMEWORKS, recipe, startApps } from './fixtures/deployments.js'

/** Send `raw` (LF line ends, as committed) over HTTP/1.1 from 127.0.0.1; the status and JSON body. */
const replay = (port: number, raw: string) =>
  new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' })
    let data = ''
    s.setEncoding('utf8')
    s.on('data', d => {
      data += d
    })
    s.on('error', reject)
    s.on('end', () => {
      const status = Number(data.slice(9, 12))
      const body = data.slice(data.indexOf('\r\n\r\n') + 4)
      try {
        resolve({ status, body: JSON.parse(body) })
      } catch {
        reject(new Error(data))
      }
    })
    s.end(raw.replace(/\n/g, '\r\n'))
  })

const c = certs()

t.test('ingress-nginx: use-forwarded-headers and compute-full-forwarded-for', async t => {
  // the controller (127.0.0.1) and the load balancer's range
  const app = await startApps(t, { tlsPort: 443, trust: ['127.0.0.1', '10.0.0.0/8'] })
  for (const fw of FRAMEWORKS) {
    const r = await replay(app, recipe('mesh/ingress-nginx.http', { PATH: `/${fw}/whoami` }))
    t.same(
      r.body,
      { ip: '203.0.113.9', protocol: 'https', host: 'shop.example', reason: 'untrusted-hop' },
      `${fw}: the client the load balancer saw, never the forged entry`,
    )
  }
})

t.test('Istio/Envoy: x-forwarded-for append, xff_num_trusted_hops: 1, XFCC with SANITIZE_SET', async t => {
  const app = await startApps(t, {
    tlsPort: 443,
    trust: ['127.0.0.1', '10.0.0.0/8'],
    clientCert: { mode: 'optional', forwarded: { source: 'xfcc', proxyVerifies: true } },
  })
  const vars = {
    HASH: createHash('sha256').update(new X509Certificate(c.valid.cert).raw).digest('hex'),
    CERT: encodeURIComponent(c.valid.cert),
  }
  for (const fw of FRAMEWORKS) {
    const who = await replay(app, recipe('mesh/envoy-no-cert.http', { PATH: `/${fw}/whoami` }))
    t.same(
      who.body,
      { ip: '203.0.113.9', protocol: 'https', host: 'shop.example', reason: 'untrusted-hop' },
      `${fw}: the client Envoy's trusted hop saw`,
    )
    const cert = await replay(app, recipe('mesh/envoy-xfcc.http', { ...vars, PATH: `/${fw}/cert` }))
    t.same(cert.body, { cn: 'client-one', reason: null }, `${fw}: the certificate in Envoy's XFCC element`)
    // SANITIZE_SET removed what the client sent, and had no certificate to set
    const none = await replay(app, recipe('mesh/envoy-no-cert.http', { PATH: `/${fw}/cert` }))
    t.same(none.body, { cn: null, reason: 'missing' }, `${fw}: no certificate, no XFCC`)
  }
})
