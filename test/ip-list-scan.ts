// The X-Forwarded-For walk reads a plain IPv4 entry in one scan
// (ListCursor.prevIPv4, parse4Before) and any other entry in two (find it
// with prev(), then parse it): both must find the same entries and the
// same addresses as the two-scan path alone.
import t from 'tap'
import { formatParsed, INVALID, parse4Before, parseRequestAddress, requestKind4, WITH_PORT } from '../src/parse/ip.js'
import { ListCursor } from '../src/parse/list.js'

type Entry = [start: number, end: number, kind: number, address: string | undefined]

const address = (kind: number) => (kind === INVALID ? undefined : formatParsed(kind))

/** The entries right to left, each found by prev() then parsed. */
const twoScans = (s: string): Entry[] => {
  const c = new ListCursor().reset(s)
  const out: Entry[] = []
  while (c.prev()) {
    const kind = parseRequestAddress(s, c.start, c.end, WITH_PORT)
    out.push([c.start, c.end, kind, address(kind)])
  }
  return out
}

/** The same, as the walk reads them: a plain IPv4 entry in one scan. */
const walk = (s: string): Entry[] => {
  const c = new ListCursor().reset(s)
  const out: Entry[] = []
  for (;;) {
    const ipv4 = c.prevIPv4()
    if (!ipv4 && !c.prev()) break
    const kind = ipv4 ? requestKind4() : parseRequestAddress(s, c.start, c.end, WITH_PORT)
    out.push([c.start, c.end, kind, address(kind)])
  }
  return out
}

const lists = [
  '',
  ' ',
  ',',
  '1.2.3.4',
  '0.0.0.0',
  '255.255.255.255',
  '100.20.3.0',
  '203.0.113.9, 10.0.0.1',
  '203.0.113.9,10.0.0.1',
  ' 203.0.113.9 ,\t10.0.0.1\t',
  '1.2.3.4, , 5.6.7.8,',
  '1.2.3.4 5.6.7.8',
  'a1.2.3.4',
  'x 1.2.3.4',
  ':1.2.3.4',
  '1234.5.6.7',
  '1.2345.6.7',
  '01.2.3.4',
  '1.2.3.04',
  '1.2.3.00',
  '1.2.3.256',
  '1.2.3.',
  '.2.3.4',
  '2.3.4',
  '1..3.4',
  '1.2.3.4.5',
  '1.2.3.4:80',
  '[2001:db8::1]:443, 1.2.3.4',
  '::ffff:1.2.3.4',
  '2001:db8::1.2.3.4',
  'fd12:3456::1, 10.0.0.1',
  'unknown, 1.2.3.4',
  '1.2.3.4, unknown',
  '1.2.3.a',
]

t.test('plain IPv4 entries read in one scan give what the two scans give', async t => {
  for (const s of lists) t.same(walk(s), twoScans(s), JSON.stringify(s))
})

t.test('random lists of IPv4 entries (valid or not), with ports, junk and empty entries', async t => {
  // a fixed seed: the same lists on every run
  let seed = 23
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x80000000
  }
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
  // nine in ten octets valid: most addresses are
  const octet = () =>
    random() < 0.9 ? pick([String(Math.floor(random() * 256)), '0', '255']) : pick(['256', '007', '', '1234'])
  const alphabet = '0123456789....., \t:a'
  /** one entry: an IPv4 address (often valid, sometimes not), a port, junk, or nothing */
  const entry = () => {
    const ip = `${octet()}.${octet()}.${octet()}.${octet()}`
    switch (Math.floor(random() * 5)) {
      case 0:
      case 1:
        return ip
      case 2:
        return `${ip}:${Math.floor(random() * 70000)}`
      case 3:
        return ''
      default: {
        let junk = ''
        for (let k = Math.floor(random() * 12); k > 0; k--) junk += pick([...alphabet])
        return junk
      }
    }
  }
  const differ: string[] = []
  let withIpv4 = 0
  for (let n = 0; n < 20000; n++) {
    const entries = Array.from({ length: 1 + Math.floor(random() * 4) }, entry)
    const s = entries.reduce((list, e) => list + pick([',', ', ', ' ,\t', '']) + pick(['', ' ']) + e)
    const expected = twoScans(s)
    const got = walk(s)
    if (JSON.stringify(got) !== JSON.stringify(expected)) differ.push(JSON.stringify(s))
    if (expected.some(([, , kind]) => kind !== INVALID)) withIpv4++
  }
  t.same(differ, [], 'the same entries and addresses for every list')
  // the lists must reach the one-scan path, not only junk
  t.ok(withIpv4 > 5000, `${withIpv4} of 20000 lists hold an address`)
})

t.test('parse4Before: the start of the address ending at end, or -1', async t => {
  t.equal(parse4Before('1.2.3.4', 7), 0)
  t.equal(parse4Before('x, 10.20.30.40', 14), 3)
  t.equal(parse4Before('1.2.3.4, 5.6.7.8', 7), 0)
  t.equal(parse4Before('1.2.3.4', 0), -1)
  t.equal(parse4Before('1.2.3.4', 6), -1)
  t.equal(parse4Before('11.2.3.4', 8), 0)
  t.equal(parse4Before('1111.2.3.4', 10), -1)
  t.equal(parse4Before('x1.2.3.4', 8), 1)
})
