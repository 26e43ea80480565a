/**
 * Shared helpers for the benchmarks: medians, a Markdown table, and a
 * sanity check that fails the run.
 */

/** Median of a list of numbers. */
export const median = values => {
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Print rows (arrays of strings) as an aligned Markdown table. */
export const table = (header, rows) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => String(r[i]).length)))
  const line = cells => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`
  console.log(line(header))
  console.log(`|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`)
  for (const r of rows) console.log(line(r))
}

/** Throw (so the run exits non-zero) when a benchmark's answers disagree. */
export const check = (ok, message) => {
  if (!ok) throw new Error(`bench sanity check failed: ${message}`)
}

/** A ratio as a signed percentage: 1.042 → "+4.2%". */
export const pct = r => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)}%`

/**
 * Child side of a server benchmark: listen on loopback, tell the parent
 * the address, answer its CPU-time queries, close when asked.
 */
export const serveInChild = async app => {
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  process.on('message', message => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send({ cpu: user + system })
    } else if (message === 'close') {
      app.close().then(() => process.exit(0))
    }
  })
  process.send({ address })
}

/**
 * Parent side: fork `script serve <name>` for each name and run
 * `measure(servers)` on them (each `{ name, child, pool, cpu: [] }`), then
 * close everything. `cpuRounds` fills each server's `cpu` per round.
 */
export const withServers = async (script, names, connections, measure) => {
  const { fork } = await import('node:child_process')
  const { once } = await import('node:events')
  const { Pool } = await import('undici')
  const servers = []
  try {
    for (const name of names) {
      const child = fork(script, ['serve', name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      const [{ address }] = await once(child, 'message')
      servers.push({ name, child, pool: new Pool(address, { connections }), cpu: [] })
    }
    await measure(servers)
  } finally {
    for (const s of servers) {
      await s.pool.close()
      s.child.send('close')
      await once(s.child, 'exit')
    }
  }
  return servers
}

/** A child's CPU time so far, in microseconds. */
const cpuOf = async child => {
  const { once } = await import('node:events')
  child.send('cpu')
  const [message] = await once(child, 'message')
  return message.cpu
}

/**
 * `rounds` rounds in which every server is loaded at the same time (so
 * whatever else the machine does slows all alike); each server's CPU time
 * per round goes to its `cpu` list. `load(server, round)` sends one round.
 */
export const cpuRounds = async (servers, rounds, load) => {
  for (let round = 0; round < rounds; round++) {
    const before = await Promise.all(servers.map(s => cpuOf(s.child)))
    await Promise.all(servers.map(s => load(s, round)))
    const after = await Promise.all(servers.map(s => cpuOf(s.child)))
    servers.forEach((s, k) => s.cpu.push(after[k] - before[k]))
  }
}

/**
 * The route benchmarks' load: `n` GET / requests through an undici `pool`,
 * `concurrency` at a time, each from a distinct client behind a proxy
 * (`X-Forwarded-For: 198.51.x.y, 10.0.0.7`, `X-Forwarded-Proto: https`,
 * plus `headers`), numbered from `seed`. Every answer must be a 200.
 * Returns the first answer: `{ body, headers, i }` (the body parsed as JSON
 * when `json`, else text; `i` its request's number).
 */
export const forwardedLoad = async (pool, n, seed, { concurrency, headers = {}, json = true }) => {
  let next = 0
  let first
  const worker = async () => {
    while (next < n) {
      const i = seed + next++
      const res = await pool.request({
        path: '/',
        method: 'GET',
        headers: {
          ...headers,
          'x-forwarded-for': `198.51.${(i >> 8) & 255}.${i & 255}, 10.0.0.7`,
          'x-forwarded-proto': 'https',
        },
      })
      const body = json ? await res.body.json() : await res.body.text()
      check(res.statusCode === 200, `status ${res.statusCode}`)
      first ??= { body, headers: res.headers, i }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return first
}

/**
 * CPU instructions per unit of work of a server, counted by valgrind's
 * callgrind (Debian package `valgrind`): `node <script> ...args` runs under
 * callgrind with counting off and prints `PORT <n>` when it listens;
 * `drive(port, n, seed)` sends `warm` units of work (JIT warm-up), then
 * counting is on (`callgrind_control`) for `n` more. User-space
 * instructions only: kernel time (the socket calls) is not counted.
 * Returns instructions per unit: `all` threads, and the `main` thread (the
 * JavaScript; without V8's background compilation and concurrent marking,
 * which make `all` vary by several per cent between runs).
 */
export const callgrindCount = async ({ script, args, drive, warm, n, name }) => {
  const { execFileSync, spawn } = await import('node:child_process')
  const { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-callgrind-'))
  const out = join(dir, 'callgrind.out')
  // BENCH_CALLGRIND_KEEP=<dir>: keep the counts per instruction and V8's
  // map of its generated code there (/tmp/perf-<pid>.map), to see where the
  // instructions go
  const keep = process.env.BENCH_CALLGRIND_KEEP
  const vg = ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${out}`]
  if (keep) vg.push('--dump-instr=yes')
  const node = keep ? [process.execPath, '--perf-basic-prof'] : [process.execPath]
  // (with --perf-basic-prof, Node 24 and 26 also write isolate-*-v8.log
  // files into the working directory: keep them in `keep` too)
  if (keep) mkdirSync(keep, { recursive: true })
  const child = spawn('valgrind', [...vg, ...node, script, ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
    ...(keep ? { cwd: keep } : {}),
  })
  try {
    let port
    for await (const chunk of child.stdout) {
      port = /PORT (\d+)/.exec(String(chunk))?.[1]
      if (port !== undefined) break
    }
    check(port !== undefined, `${name}: the server did not start under valgrind`)
    await drive(Number(port), warm, 0)
    execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' })
    await drive(Number(port), n, 100_000)
    execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore' })
    execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' })
    let total = 0
    let main = 0
    for (const f of readdirSync(dir)) {
      const count = Number(/^totals: (\d+)/m.exec(readFileSync(join(dir, f), 'utf8'))?.[1] ?? 0)
      total += count
      if (f.endsWith('-01')) main += count
    }
    check(total > 0 && main > 0, `${name}: callgrind counted nothing`)
    if (keep) {
      const { copyFileSync } = await import('node:fs')
      const label = name.replace(/[^\w.-]+/g, '_')
      for (const f of readdirSync(dir)) copyFileSync(join(dir, f), join(keep, `${label}.${f}`))
      copyFileSync(`/tmp/perf-${child.pid}.map`, join(keep, `${label}.perf.map`))
    }
    return { all: total / n, main: main / n }
  } finally {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Print `callgrindCount` results (`counts[name]` = { main, all }) as a
 * table, each against the variant named `base`.
 */
export const countsTable = (counts, names, base, unit) => {
  const vs = (n, k) => (counts[base] ? pct(counts[n][k] / counts[base][k]) : '')
  table(
    ['variant', `instructions/${unit}, main thread`, `vs ${base}`, 'all threads', `vs ${base}`],
    names.map(n => [
      n,
      Math.round(counts[n].main).toLocaleString('en'),
      vs(n, 'main'),
      Math.round(counts[n].all).toLocaleString('en'),
      vs(n, 'all'),
    ]),
  )
}
