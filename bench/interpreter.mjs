// Benchmark (not a test): runCode('1+1') round trip through the Boxwood server with the released
// @e2b/code-interpreter SDK, beside a raw jupyter_client execute on the same Python kernel in the same run.
// The baseline runs inside the sandbox (no network hop, no agent), so the ratio is everything Boxwood adds:
// client → server router → agent → kernel and back.
//
// Usage: start `bin/boxwood serve`, export the E2B_* lines it prints, then
//   node bench/interpreter.mjs [N=200]
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../compat/package.json'))
const { Sandbox } = require('@e2b/code-interpreter')

const N = Number(process.argv[2] ?? 200)
const WARMUP = 20

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
const summary = (ms) => {
  const s = [...ms].sort((a, b) => a - b)
  return { p50: pct(s, 50), p99: pct(s, 99) }
}

// Finds the connection file of the Python kernel that answered runCode (the default context's) and times
// execute → idle on iopub, as a Jupyter client sees a cell complete.
const RAW = String.raw`
import glob, json, sys, time
from jupyter_client import BlockingKernelClient
n, warmup = int(sys.argv[1]), int(sys.argv[2])
for f in sorted(glob.glob('/tmp/boxwood-interpreter/kernel-*.json')):
    kc = BlockingKernelClient(connection_file=f)
    kc.load_connection_file()
    kc.start_channels()
    try:
        language = kc.kernel_info(reply=True, timeout=5)['content'].get('language_info', {}).get('name')
    except Exception:
        language = None
    if language != 'python':
        kc.stop_channels()
        continue
    times = []
    for i in range(n + warmup):
        t0 = time.perf_counter()
        msg_id = kc.execute('1+1')
        while True:
            m = kc.get_iopub_msg(timeout=10)
            if m['parent_header'].get('msg_id') == msg_id and m['msg_type'] == 'status' and m['content']['execution_state'] == 'idle':
                break
        kc.get_shell_msg(timeout=10)
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({'file': f, 'ms': times}))
    break
`

const sandbox = await Sandbox.create('code-interpreter-v1', { timeoutMs: 600_000, metadata: { bench: 'interpreter' } })
try {
  for (let i = 0; i < WARMUP; i++) await sandbox.runCode('1+1')
  const server = []
  for (let i = 0; i < N; i++) {
    const t0 = performance.now()
    const execution = await sandbox.runCode('1+1')
    server.push(performance.now() - t0)
    if (execution.text !== '2') throw new Error(`unexpected result ${execution.text}`)
  }
  await sandbox.files.write('/tmp/raw_bench.py', RAW)
  const raw = await sandbox.commands.run(`python3 /tmp/raw_bench.py ${N} ${WARMUP}`, { user: 'root', timeoutMs: 300_000 })
  const line = raw.stdout.trim().split('\n').at(-1)
  if (!line) throw new Error(`raw benchmark printed nothing: ${raw.stderr}`)
  const baseline = JSON.parse(line).ms
  const s = summary(server)
  const b = summary(baseline)
  const f = (x) => `${x.toFixed(1)} ms`
  console.log(`N=${N}, warm-up ${WARMUP}`)
  console.log(`raw jupyter_client execute (in sandbox)  p50 ${f(b.p50)}  p99 ${f(b.p99)}`)
  console.log(`runCode('1+1') through the server        p50 ${f(s.p50)} (${(s.p50 / b.p50).toFixed(1)}x)  p99 ${f(s.p99)} (${(s.p99 / b.p99).toFixed(1)}x)`)
} finally {
  await sandbox.kill().catch(() => {})
}
