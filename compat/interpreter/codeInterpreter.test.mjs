// The released @e2b/code-interpreter SDK against template code-interpreter-v1 (port 49999 inside the sandbox).
// run.sh runs this file only once that template has been built (or with COMPAT_INTERPRETER=1).
import assert from 'node:assert/strict'
import { after, before, describe } from 'node:test'
import { Sandbox } from '@e2b/code-interpreter'
import { createSandbox, it, killQuietly } from '../lib/support.mjs'

const TEMPLATE = process.env.COMPAT_INTERPRETER_TEMPLATE ?? 'code-interpreter-v1'

describe('code interpreter', () => {
  /** @type {Sandbox} */
  let sandbox
  before(async () => {
    sandbox = await createSandbox(undefined, { envs: { COMPAT_WIDE: 'wide value' } }, Sandbox, TEMPLATE)
  })
  after(() => killQuietly(sandbox))

  it('evaluates an expression as the main result', async () => {
    const execution = await sandbox.runCode('1 + 1')
    assert.equal(execution.text, '2')
    assert.equal(execution.results.length, 1)
    assert.equal(execution.results[0].isMainResult, true)
    assert.equal(execution.error, undefined)
  })

  it('streams stdout and stderr', async () => {
    const out = []
    const err = []
    const execution = await sandbox.runCode('import sys\nprint("to out")\nprint("to err", file=sys.stderr)', {
      onStdout: (m) => out.push(m.line),
      onStderr: (m) => err.push(m.line),
    })
    assert.deepEqual(execution.logs.stdout, ['to out\n'])
    assert.deepEqual(execution.logs.stderr, ['to err\n'])
    assert.deepEqual(out, ['to out\n'])
    assert.deepEqual(err, ['to err\n'])
  })

  it('keeps state between executions', async () => {
    await sandbox.runCode('compat_counter = 41')
    assert.equal((await sandbox.runCode('compat_counter + 1')).text, '42')
  })

  it('reports errors with name, value and traceback', async () => {
    const execution = await sandbox.runCode('1 / 0')
    assert.ok(execution.error)
    assert.equal(execution.error.name, 'ZeroDivisionError')
    assert.match(execution.error.value, /division by zero/)
    assert.match(execution.error.traceback, /ZeroDivisionError/)
  })

  // E2B's kernels show a str result without quotes (its tests expect 'supertest', not "'supertest'").
  it('sees sandbox-wide envs and per-call envs, which do not leak', async () => {
    assert.equal((await sandbox.runCode('import os; os.environ.get("COMPAT_WIDE")')).text, 'wide value')
    const withEnv = await sandbox.runCode('import os; os.environ.get("COMPAT_CALL")', { envs: { COMPAT_CALL: 'call value' } })
    assert.equal(withEnv.text, 'call value')
    assert.equal((await sandbox.runCode('import os; os.environ.get("COMPAT_CALL", "unset")')).text, 'unset')
    const overridden = await sandbox.runCode('import os; os.environ["COMPAT_WIDE"]', { envs: { COMPAT_WIDE: 'call wins' } })
    assert.equal(overridden.text, 'call wins')
    assert.equal((await sandbox.runCode('import os; os.environ["COMPAT_WIDE"]')).text, 'wide value')
  })

  it('runs in separate contexts with their own state and cwd', async () => {
    const context = await sandbox.createCodeContext({ cwd: '/tmp' })
    assert.equal(context.cwd, '/tmp')
    assert.equal((await sandbox.runCode('import os; os.getcwd()', { context })).text, '/tmp')
    assert.equal((await sandbox.runCode('import os; os.getcwd()')).text, '/home/user')
    await sandbox.runCode('only_here = 1', { context })
    const elsewhere = await sandbox.runCode('only_here')
    assert.equal(elsewhere.error?.name, 'NameError')

    const listed = await sandbox.listCodeContexts()
    assert.ok(listed.some((c) => c.id === context.id))

    await sandbox.restartCodeContext(context)
    assert.equal((await sandbox.runCode('only_here', { context })).error?.name, 'NameError')

    await sandbox.removeCodeContext(context)
    assert.ok(!(await sandbox.listCodeContexts()).some((c) => c.id === context.id))
  })

  it('returns a matplotlib chart as PNG and chart data', async () => {
    const execution = await sandbox.runCode(`
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.bar(['a', 'b', 'c'], [1, 2, 3])
ax.set_title('compat bars')
ax.set_xlabel('letters')
ax.set_ylabel('values')
plt.show()
`)
    const result = execution.results.find((r) => r.png)
    assert.ok(result, `a PNG result among ${JSON.stringify(execution.results.map((r) => r.formats()))}`)
    assert.ok(Buffer.from(result.png, 'base64').subarray(1, 4).toString() === 'PNG')
    assert.equal(result.chart?.type, 'bar')
    assert.equal(result.chart?.title, 'compat bars')
    assert.deepEqual(result.chart?.elements.map((e) => e.label), ['a', 'b', 'c'])
  })

  it('runs javascript', async () => {
    const execution = await sandbox.runCode('const x = 20; x * 2 + 2', { language: 'javascript' })
    assert.equal(execution.text, '42')
  })
})
