/**
 * Question: what does the Bun path of the response hook (the native-handle
 * lookup decided once per process, then one check per hooked response)
 * cost on Node?
 *
 * Compares `onHeaders` of this tree (dist/) with the one of a git revision
 * before the Bun path (default `main`, compiled with esbuild into a
 * temporary directory): each round runs each in a fresh child process
 * (both patch `_storeHeader`, so never in one process), alternately; each
 * child times N responses (a ServerResponse, an edit adding Secure to its
 * cookie, setHeader, writeHead: the whole HTTP/1 hook path without a
 * socket). Ratios are per round, then the median.
 *
 *   npm run build && node bench/runtime-hook.mjs [revision]
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const N = Number(process.env.BENCH_REQUESTS ?? 200_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)

const child = async hookUrl => {
  const { IncomingMessage, ServerResponse } = await import('node:http')
  const { Socket } = await import('node:net')
  const { onHeaders, mapHeader } = await import(hookUrl)
  const req = new IncomingMessage(new Socket())
  req.method = 'GET'
  req.httpVersionMajor = 1
  req.httpVersionMinor = 1
  const edit = (headers, out) => mapHeader(headers, out, 'set-cookie', v => `${v}; Secure`)
  const once = () => {
    const res = new ServerResponse(req)
    onHeaders(res, edit)
    res.setHeader('Set-Cookie', 'sid=1')
    res.writeHead(200)
    if (!res._header.includes('sid=1; Secure')) throw new Error('the hook did not run')
  }
  for (let i = 0; i < N / 10; i++) once() // warm-up
  const start = process.cpuUsage()
  for (let i = 0; i < N; i++) once()
  const used = process.cpuUsage(start)
  console.log(used.user + used.system)
}

if (process.argv[2] === 'child') {
  await child(process.argv[3])
} else {
  const rev = process.argv[2] ?? 'main'
  const dir = mkdtempSync(join(tmpdir(), 'hook-bench-'))
  writeFileSync(join(dir, 'hook.ts'), execFileSync('git', ['show', `${rev}:src/response/hook.ts`]))
  execFileSync(
    'npx',
    ['esbuild', join(dir, 'hook.ts'), '--format=esm', '--platform=node', `--outfile=${join(dir, 'hook.mjs')}`],
    {
      stdio: 'ignore',
    },
  )
  const urls = {
    before: pathToFileURL(join(dir, 'hook.mjs')).href,
    now: new URL('../dist/esm/response/hook.js', import.meta.url).href,
  }
  const self = fileURLToPath(import.meta.url)
  const time = url => Number(execFileSync(process.execPath, [self, 'child', url], { encoding: 'utf8' }))
  const ratios = []
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['before', 'now'] : ['now', 'before']
    const t = {}
    for (const k of order) t[k] = time(urls[k])
    ratios.push(t.now / t.before)
  }
  ratios.sort((a, b) => a - b)
  const median = ratios[Math.floor(ratios.length / 2)]
  console.log(
    `response hook on Node ${process.version}, ${N} responses x ${ROUNDS} rounds: this tree / ${rev} = ${median.toFixed(3)} (median; range ${ratios[0].toFixed(3)}-${ratios.at(-1).toFixed(3)})`,
  )
}
