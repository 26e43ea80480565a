// The `proxy-aware` command line: through a real child process (node with
// tsx's loader on src/cli/bin.ts, as tests run before the build), and
// main() in this process for what a child cannot show tap's coverage.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { Io } from '../src/cli/command.js'
import { main } from '../src/cli/main.js'
import { captureWarnings, warningLine } from '../src/cli/warnings.js'
import { childEnv } from './support/child-env.js'

const bin = fileURLToPath(new URL('../src/cli/bin.ts', import.meta.url))
// by URL: the child runs in a scratch directory, where 'tsx' does not resolve
const tsx = import.meta.resolve('tsx')
const pkg = JSON.parse((await import('node:fs')).readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string
}

interface Result {
  code: number
  stdout: string
  stderr: string
}

/** The child's environment: no colour settings of ours, unless given. */
const envOf = (extra: Record<string, string>) => {
  const env = childEnv()
  delete env.FORCE_COLOR
  delete env.NO_COLOR
  return { ...env, ...extra }
}

/** Run the tool in a child process. */
const cli = (args: string[], env: Record<string, string> = {}, cwd = dir): Promise<Result> =>
  new Promise(resolve => {
    execFile(process.execPath, ['--import', tsx, bin, ...args], { env: envOf(env), cwd }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr })
    })
  })

/** Run main() here, with streams that record (a terminal when `tty`). */
const inProcess = async (args: string[], env: NodeJS.ProcessEnv = {}, tty = false): Promise<Result> => {
  const out = Object.assign(new PassThrough(), { isTTY: tty })
  const err = new PassThrough()
  const chunks = { stdout: '', stderr: '' }
  out.on('data', d => (chunks.stdout += String(d)))
  err.on('data', d => (chunks.stderr += String(d)))
  const io: Io = { stdout: out, stderr: err, env, cwd: dir }
  const code = await main(args, io)
  return { code, ...chunks }
}

const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-cli-'))
writeFileSync(join(dir, 'good.json'), JSON.stringify({ trust: ['loopback', '10.0.0.0/8'], forwardedHost: true }))
writeFileSync(join(dir, 'bad.json'), JSON.stringify({ trust: ['10.0.0.0/33'] }))
writeFileSync(join(dir, 'hops.json'), JSON.stringify({ trust: 2 }))
writeFileSync(join(dir, 'broken.json'), '{ "trust": ')
writeFileSync(join(dir, 'list.json'), '["loopback"]')
writeFileSync(join(dir, 'good.mjs'), `export default { trust: (address, hop) => hop === 0 }\n`)
writeFileSync(join(dir, 'named.mjs'), `export const trust = 'loopback'\nexport const maxHops = 3\n`)
writeFileSync(join(dir, 'throws.mjs'), `throw new Error('config module failed')\n`)
writeFileSync(join(dir, 'config.yaml'), 'trust: loopback\n')
const cfHeaders = ['-H', 'X-Forwarded-For: 6.6.6.6, 203.0.113.7, 173.245.48.5', '-H', 'X-Forwarded-Proto: https']

t.test('through a child process: help, exit codes, argument errors, explain, check', async t => {
  const explainArgs = ['explain', '--trust', '10.0.0.0/8', '--trust', 'cloudflare', '--peer', '10.0.0.5', ...cfHeaders]
  // one batch: each child loads TypeScript through tsx, which takes a while
  const [help, none, version, unknown, flag, plain, json, good, bad, warn] = await Promise.all([
    cli(['--help']),
    cli([]),
    cli(['--version']),
    cli(['frobnicate']),
    cli(['explain', '--frob']),
    cli([...explainArgs, '-H', 'Host: example.com']),
    cli([...explainArgs, '--json']),
    cli(['check', 'good.json']),
    cli(['check', 'bad.json']),
    cli(['check', 'hops.json']),
  ])
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: proxy-aware <command> \[options\]/)
  t.match(help.stdout, /\n {2}explain +show how one request/)
  t.match(help.stdout, /\n {2}check +validate a configuration file/)
  t.equal(help.stderr, '')
  t.same([none.code, none.stdout, none.stderr], [2, '', help.stdout], 'no command: the help on stderr, exit 2')
  t.same(version, { code: 0, stdout: `${pkg.version}\n`, stderr: '' })
  t.same(unknown, {
    code: 2,
    stdout: '',
    stderr: `proxy-aware: unknown command "frobnicate"\nRun 'proxy-aware --help' for usage.\n`,
  })
  t.equal(flag.code, 2)
  t.match(
    flag.stderr,
    /^proxy-aware explain: Unknown option '--frob'.*\nRun 'proxy-aware explain --help' for usage\.\n$/s,
  )

  t.equal(plain.code, 0)
  t.equal(plain.stderr, '')
  t.equal(
    plain.stdout,
    [
      'client   203.0.113.7',
      'protocol https  from X-Forwarded-Proto: "https"',
      'host     example.com  from Host: "example.com"',
      '',
      '  hop 0  10.0.0.5      socket          trusted by 10.0.0.0/8 (address)',
      '  hop 1  173.245.48.5  X-Forwarded-For trusted by cloudflare (preset)',
      '  hop 2  203.0.113.7   X-Forwarded-For not trusted  <- client',
      '',
      'stopped  untrusted-hop: 203.0.113.7 (hop 2, from x-forwarded-for) is not a trusted proxy: it is the client',
      '',
    ].join('\n'),
    'no colour when stdout is not a terminal',
  )
  t.equal(json.code, 0)
  const e = JSON.parse(json.stdout) as { client: string; reason: string; hops: Array<{ by?: { entry: string } }> }
  t.same([e.client, e.reason], ['203.0.113.7', 'untrusted-hop'])
  t.same(
    e.hops.map(h => h.by?.entry ?? null),
    ['10.0.0.0/8', 'cloudflare', null],
  )

  t.same(good, { code: 0, stdout: 'good.json: ok\n', stderr: '' })
  t.equal(bad.code, 1)
  t.match(
    bad.stderr,
    /^bad\.json: error: proxy-aware: option "trust" has an invalid entry "10\.0\.0\.0\/33": the prefix length 33 is out of range/,
  )
  t.equal(warn.code, 0)
  t.match(warn.stderr, /^hops\.json: warning: proxy-aware: trust: 2 is a hop count\. .*\[PROXY_AWARE_HOP_COUNT\]\n$/)
  t.equal(warn.stdout, 'hops.json: valid, 1 warning(s)\n')
})

t.test('main() in this process: the same paths, and the rest', async t => {
  const help = await inProcess(['--help'])
  t.match(help, { code: 0, stdout: /^Usage: proxy-aware <command>/ })
  t.equal((await inProcess(['-h'])).stdout, help.stdout)
  t.equal((await inProcess(['-v'])).stdout, `${pkg.version}\n`)
  t.match(await inProcess(['explain', '--peer']), {
    code: 2,
    stderr: /proxy-aware explain: Option '-p, --peer <value>' argument missing/,
  })
  t.match(await inProcess(['explain', 'stray']), { code: 2, stderr: /Unexpected argument 'stray'/ })
  t.match(await inProcess(['explain', '--peer', '127.0.0.1', '--trust', 'loopback', '-H', 'no colon']), {
    code: 2,
    stderr: /--header "no colon" is not 'Name: value'/,
  })
  t.equal((await inProcess(['help', 'check'])).stdout, (await inProcess(['check', '-h'])).stdout)
  t.match(help.stdout, /\n {2}refresh-presets {2}\S/, 'refresh-presets is listed')
  t.match(await inProcess(['refresh-presets', '--help']), {
    code: 0,
    stdout: /Exit codes: 0 written, 1 a vendor failed/,
  })
  t.match(await inProcess(['refresh-presets', '--vendor', 'akamai']), { code: 2, stderr: /akamai/ })
  t.match(
    (await inProcess(['check', '--help'])).stdout,
    /Exit status: 0 valid, 1 invalid \(or warnings with --strict\), 2 usage error/,
  )
  t.match(await inProcess(['check']), { code: 2, stderr: /^proxy-aware check: a configuration file is required/ })
  t.match(await inProcess(['check', 'a.json', 'b.json']), { code: 2, stderr: /one file at a time, got 2/ })
  t.same(await inProcess(['check', '--strict', 'good.json']), { code: 0, stdout: 'good.json: ok\n', stderr: '' })
  t.match(
    await inProcess(['check', 'good.mjs']),
    { code: 0, stdout: 'good.mjs: ok\n' },
    'a JS module exporting the options',
  )
  const bad = await inProcess(['explain', '--trust', '10.0.0.0/33', '--peer', '10.0.0.5'])
  t.equal(bad.code, 1)
  t.match(bad.stderr, /^error: proxy-aware: option "trust" has an invalid entry "10\.0\.0\.0\/33"/)
  const hops = await inProcess(['explain', '--trust', '2', '--peer', '10.0.0.5', ...cfHeaders])
  t.equal(hops.code, 0)
  t.match(hops.stderr, /^warning: proxy-aware: trust: 2 is a hop count.*\[PROXY_AWARE_HOP_COUNT\]\n$/)
  t.match(hops.stdout, /hop 0 {2}10\.0\.0\.5 {6}socket {10}trusted by trust: 2 \(hop-count\)/)
  t.match(await inProcess(['check', 'named.mjs']), { code: 0, stdout: 'named.mjs: ok\n' }, 'named exports')
  t.match(await inProcess(['check', 'missing.mjs']), { code: 2, stderr: /cannot read missing\.mjs: ENOENT/ })
  t.match(await inProcess(['check', 'throws.mjs']), { code: 1, stderr: /^throws\.mjs: error: config module failed\n$/ })
  t.match(await inProcess(['check', 'config.yaml']), {
    code: 2,
    stderr: /config\.yaml: a configuration is a \.json, \.js, \.mjs or \.cjs file/,
  })
  t.match(await inProcess(['check', 'broken.json']), {
    code: 1,
    stderr: /^broken\.json: error: broken\.json is not valid JSON: /,
  })
  t.match(await inProcess(['check', 'list.json']), { code: 1, stderr: /list\.json must hold an options object/ })
  t.match(await inProcess(['check', 'hops.json']), { code: 0, stderr: /PROXY_AWARE_HOP_COUNT/ })
  t.match(await inProcess(['check', '--strict', 'hops.json']), {
    code: 1,
    stderr: /hops\.json: valid, 1 warning\(s\) \(--strict\)\n$/,
  })
  t.match(await inProcess(['check', 'missing.json']), {
    code: 2,
    stderr: /^proxy-aware check: cannot read missing\.json: ENOENT/,
  })
  t.match(await inProcess(['check', 'bad.json']), { code: 1, stderr: /bad\.json: error: / })
  t.match(await inProcess([]), { code: 2, stderr: /^Usage: proxy-aware/ })
  t.match(await inProcess(['help']), { code: 0, stdout: /^Usage: proxy-aware/ })
  t.match(await inProcess(['help', 'explain']), { code: 0, stdout: /^Usage: proxy-aware explain/ })
  t.match(await inProcess(['explain', '-h']), { code: 0, stdout: /^Usage: proxy-aware explain/ })
  t.match(await inProcess(['--version']), { code: 0, stdout: `${pkg.version}\n` })
  t.match(await inProcess(['nope']), { code: 2, stderr: /unknown command "nope"\n/ })
  // a typo gets the closest command (swapped letters, a missing or extra one, case)
  for (const [typo, meant] of <[string, string][]>[
    ['explian', 'explain'],
    ['chek', 'check'],
    ['Check', 'check'],
    ['refresh-preset', 'refresh-presets'],
    ['expain', 'explain'],
  ]) {
    t.match(await inProcess([typo]), { code: 2, stderr: `unknown command "${typo}" (did you mean ${meant}?)` }, typo)
  }
  t.notMatch((await inProcess(['frobnicate'])).stderr, /did you mean/, 'nothing close: no suggestion')
  t.notMatch((await inProcess(['--chek'])).stderr, /did you mean/, 'options are not commands')
  t.match(
    (await inProcess(['help', 'explain'])).stdout,
    /\.json, \.js, \.mjs or \.cjs file/,
    'explain --help names .cjs',
  )
  t.match(await inProcess(['--nope']), { code: 2, stderr: /unknown option "--nope"/ })
  t.match(await inProcess(['explain', '--nope']), { code: 2, stderr: /Unknown option '--nope'/ })
  t.match(await inProcess(['explain', '--trust', 'loopback']), { code: 2, stderr: /--peer <address> is required/ })
  t.match(await inProcess(['explain', '--peer', '::1', '-H', ': x']), { code: 2, stderr: /is not 'Name: value'/ })

  // every flag, over a config file
  const full = await inProcess([
    'explain',
    '--config',
    'good.json',
    '--peer',
    '35.191.0.1',
    '--trust',
    'gcp-lb',
    '--gcp-forwarding-rule',
    '34.120.0.10',
    '--forwarded-host',
    '--conventions',
    'forwarded, x-forwarded',
    '--proto-pairing',
    'hop',
    '--max-hops',
    '5',
    '--https',
    '-H',
    'Forwarded: for=203.0.113.7;host=shop.example, for=34.120.0.10',
    '-H',
    'X-Forwarded-For: 1.2.3.4',
    '-H',
    'X-Forwarded-For: 5.6.7.8',
    '--json',
  ])
  t.equal(full.code, 0, full.stderr)
  const e = JSON.parse(full.stdout) as {
    client: string
    protocol: { value: string; from: string }
    host: { value: string }
    hops: Array<{ by?: { entry: string } }>
  }
  t.same(
    [e.client, e.protocol.value, e.protocol.from, e.host.value],
    ['203.0.113.7', 'https', 'socket', 'shop.example'],
  )
  t.same(
    e.hops.map(h => h.by?.entry ?? null),
    ['gcp-lb', 'gcp-lb (gcpForwardingRule)', null],
  )
  const fly = await inProcess(['explain', '--trust', 'fly', '--platform', 'fly', '--peer', '172.16.0.1'])
  t.match(fly, { code: 0, stdout: /trusted by fly \(platform\)/ })
  const trustAll = await inProcess([
    'explain',
    '--trust',
    'true',
    '--peer',
    '192.0.2.1',
    '-H',
    'X-Forwarded-For: 1.2.3.4',
  ])
  t.match(trustAll.stdout, /every address was trusted/)
  t.match(await inProcess(['explain', '--peer', '127.0.0.1']), { code: 1, stderr: /option "trust" is required/ })
  t.match(await inProcess(['explain', '--config', 'broken.json', '--peer', '127.0.0.1']), {
    code: 1,
    stderr: /^proxy-aware explain: error: broken\.json is not valid JSON: /,
  })

  // colour: a terminal, unless NO_COLOR, TERM=dumb or FORCE_COLOR=0 say otherwise
  const colour = (env: NodeJS.ProcessEnv, tty: boolean) =>
    inProcess(['explain', '--trust', 'loopback', '--peer', '127.0.0.1'], env, tty).then(r =>
      r.stdout.includes('\u001b['),
    )
  t.equal(await colour({}, true), true, 'a terminal')
  t.equal(await colour({}, false), false, 'a pipe')
  t.equal(await colour({ NO_COLOR: '1' }, true), false, 'NO_COLOR')
  t.equal(await colour({ NO_COLOR: '' }, true), true, 'an empty NO_COLOR')
  t.equal(await colour({ TERM: 'dumb' }, true), false, 'TERM=dumb')
  t.equal(await colour({ FORCE_COLOR: '0' }, true), false, 'FORCE_COLOR=0')
  t.equal(await colour({ FORCE_COLOR: '1', NO_COLOR: '1' }, false), true, 'FORCE_COLOR=1 wins over NO_COLOR')
})

t.test('captureWarnings: both channels, every emitWarning form, late ones, and a throw', async t => {
  const { value, warnings } = await captureWarnings(logger => {
    logger.warn({ code: 'FROM_LOGGER' }, 'logged')
    logger.warn({ detail: 1 })
    logger.info({}, 'not a warning')
    process.emitWarning('with options', { code: 'OPT', type: 'SecurityWarning' })
    process.emitWarning('with a code argument', 'Warning', 'ARG')
    process.emitWarning(new Error('an Error'))
    process.nextTick(() => process.emitWarning('on the next tick'))
    return 42
  })
  t.equal(value, 42)
  t.same(warnings, [
    { message: 'logged', code: 'FROM_LOGGER' },
    { message: '{"detail":1}', code: undefined },
    { message: 'with options', code: 'OPT' },
    { message: 'with a code argument', code: 'ARG' },
    { message: 'an Error', code: undefined },
    { message: 'on the next tick', code: undefined },
  ])
  const failed = await captureWarnings(() => {
    process.emitWarning('before the throw')
    throw new Error('bad')
  })
  t.match(failed, { error: { message: 'bad' }, warnings: [{ message: 'before the throw' }] })
  t.equal(typeof process.emitWarning, 'function')
  t.not(process.emitWarning.name, 'captureWarning', 'restored')
  t.equal(warningLine({ message: 'm', code: undefined }), 'm')
  t.equal(warningLine({ message: 'm', code: 'C' }), 'm [C]')
})
