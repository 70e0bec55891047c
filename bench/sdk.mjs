// Benchmark driver (not a test) for the released E2B JavaScript SDKs against a Boxwood server. Run by bench/run,
// which passes E2B_API_URL / E2B_API_KEY / E2B_DOMAIN; prints one JSON object on its last line (times in ms).
//
//   node bench/sdk.mjs first-command N      create('base') + commands.run('echo hi'), N times
//   node bench/sdk.mjs first-result N       create('code-interpreter-v1') + runCode('1+1'), N times
//   node bench/sdk.mjs command N            commands.run('true') on one sandbox, N times
//   node bench/sdk.mjs run-code N           runCode('1+1') N times, then a raw jupyter_client execute on the same kernel
//   node bench/sdk.mjs files MB REPS        files.write / files.read of an MB-sized file
//   node bench/sdk.mjs live-kernels N       N code-interpreter-v1 sandboxes kept alive, each with a run cell; prints ids
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../compat/package.json'))
const { Sandbox } = require('e2b')
const { Sandbox: CodeSandbox } = require('@e2b/code-interpreter')

const [mode, a1, a2] = process.argv.slice(2)
const n = Number(a1 ?? 10)
const now = () => performance.now()
const out = (o) => console.log(JSON.stringify(o))
const opts = { timeoutMs: 600_000, metadata: { bench: mode } }

async function firstCommand() {
  const ms = [], ids = []
  for (let i = 0; i < n; i++) {
    const t0 = now()
    const s = await Sandbox.create('base', opts)
    const r = await s.commands.run('echo hi')
    ms.push(now() - t0)
    ids.push(s.sandboxId)
    if (r.stdout.trim() !== 'hi') throw new Error(`unexpected output ${r.stdout}`)
    await s.kill()
    await new Promise((ok) => setTimeout(ok, Number(a2 ?? 0))) // lets a warm pool refill between samples
  }
  out({ ms, ids })
}

async function firstResult() {
  const ms = [], ids = []
  for (let i = 0; i < n; i++) {
    const t0 = now()
    const s = await CodeSandbox.create('code-interpreter-v1', opts)
    const e = await s.runCode('1+1')
    ms.push(now() - t0)
    ids.push(s.sandboxId)
    if (e.text !== '2') throw new Error(`unexpected result ${e.text} ${JSON.stringify(e.error)}`)
    await s.kill()
    await new Promise((ok) => setTimeout(ok, Number(a2 ?? 0)))
  }
  out({ ms, ids })
}

async function command() {
  const s = await Sandbox.create('base', opts)
  try {
    for (let i = 0; i < 10; i++) await s.commands.run('true')
    const ms = []
    for (let i = 0; i < n; i++) {
      const t0 = now()
      await s.commands.run('true')
      ms.push(now() - t0)
    }
    out({ ms })
  } finally {
    await s.kill().catch(() => {})
  }
}

// Finds the default Python kernel's connection file and times execute → idle on iopub, as a Jupyter client sees a
// cell complete: the baseline runs inside the sandbox, so the ratio is everything Boxwood adds.
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

async function runCode() {
  const s = await CodeSandbox.create('code-interpreter-v1', opts)
  try {
    for (let i = 0; i < 20; i++) await s.runCode('1+1')
    const ms = []
    for (let i = 0; i < n; i++) {
      const t0 = now()
      const e = await s.runCode('1+1')
      ms.push(now() - t0)
      if (e.text !== '2') throw new Error(`unexpected result ${e.text}`)
    }
    await s.files.write('/tmp/raw_bench.py', RAW)
    const raw = await s.commands.run(`python3 /tmp/raw_bench.py ${n} 20`, { user: 'root', timeoutMs: 300_000 })
    const line = raw.stdout.trim().split('\n').at(-1)
    if (!line) throw new Error(`raw benchmark printed nothing: ${raw.stderr}`)
    out({ ms, raw: JSON.parse(line).ms })
  } finally {
    await s.kill().catch(() => {})
  }
}

async function files() {
  const mb = n, reps = Number(a2 ?? 3)
  const data = new Uint8Array(mb * 1024 * 1024)
  for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff
  const s = await Sandbox.create('base', { ...opts, memoryMB: undefined })
  try {
    const up = [], down = []
    for (let i = 0; i < reps; i++) {
      let t0 = now()
      await s.files.write('/home/user/blob.bin', data.buffer)
      up.push(now() - t0)
      t0 = now()
      const back = await s.files.read('/home/user/blob.bin', { format: 'bytes' })
      down.push(now() - t0)
      if (back.length !== data.length) throw new Error(`read ${back.length} bytes, wrote ${data.length}`)
    }
    out({ mb, up, down })
  } finally {
    await s.kill().catch(() => {})
  }
}

async function liveKernels() {
  const ids = [], failures = []
  const deadline = Date.now() + Number(a2 ?? 300) * 1000
  for (let i = 0; i < n && Date.now() < deadline; i++) {
    try {
      const s = await CodeSandbox.create('code-interpreter-v1', opts)
      const e = await s.runCode('x = 1; x')
      if (e.text !== '1') throw new Error(`kernel answered ${e.text}`)
      ids.push(s.sandboxId)
    } catch (e) {
      failures.push(String(e))
      if (failures.length >= 3) break
    }
  }
  out({ ids, failures })
}

const modes = { 'first-command': firstCommand, 'first-result': firstResult, command, 'run-code': runCode, files, 'live-kernels': liveKernels }
if (!modes[mode]) {
  console.error(`unknown mode ${mode}; one of ${Object.keys(modes).join(', ')}`)
  process.exit(2)
}
await modes[mode]()
