// More of issue 4's checklist for the released @e2b/code-interpreter SDK: results, execution counts, the context
// lifecycle, callback order, display data, pandas, interrupts, kill during runCode and the non-Python kernels.
// R and Java run in sandboxes of their own: with Python and JavaScript up, their kernels would crowd 512 MB.
import assert from 'node:assert/strict'
import { after, before, describe } from 'node:test'
import { Sandbox, TimeoutError } from '@e2b/code-interpreter'
import { createSandbox, it, killQuietly, sleep } from '../lib/support.mjs'

const TEMPLATE = process.env.COMPAT_INTERPRETER_TEMPLATE ?? 'code-interpreter-v1'

describe('code interpreter, shared sandbox', () => {
  /** @type {Sandbox} */
  let sandbox
  before(async () => {
    sandbox = await createSandbox(undefined, {}, Sandbox, TEMPLATE)
  })
  after(() => killQuietly(sandbox))

  it('gives the last expression of a cell as text', async () => {
    const execution = await sandbox.runCode('x = 1; x')
    assert.equal(execution.text, '1')
    assert.equal(execution.error, undefined)
  })

  it('increments the execution count', async () => {
    const first = await sandbox.runCode('1')
    const second = await sandbox.runCode('2')
    assert.equal(typeof first.executionCount, 'number')
    assert.equal(second.executionCount, first.executionCount + 1)
  })

  it('creates, lists, restarts and removes contexts', async () => {
    const context = await sandbox.createCodeContext({ language: 'python' })
    const listed = await sandbox.listCodeContexts()
    assert.equal(listed.at(-1)?.id, context.id, `the new context is last in ${JSON.stringify(listed)}`)
    const languages = listed.map((c) => c.language)
    assert.ok(languages.includes('python'), `python among ${languages}`)
    assert.ok(languages.includes('javascript'), `javascript among ${languages}`)

    await sandbox.runCode('restart_me = 7', { context })
    assert.equal((await sandbox.runCode('restart_me', { context })).text, '7')
    await sandbox.restartCodeContext(context.id)
    assert.equal((await sandbox.runCode('restart_me', { context })).error?.name, 'NameError')

    await sandbox.removeCodeContext(context.id)
    assert.ok(!(await sandbox.listCodeContexts()).some((c) => c.id === context.id))
  })

  it('calls the streaming callbacks in order', async () => {
    const events = []
    const execution = await sandbox.runCode(
      'import sys, time\nfor i in range(3):\n    sys.stdout.write(f"line {i}\\n"); sys.stdout.flush()\n    time.sleep(0.2)\n"done"',
      {
        onStdout: (m) => events.push(['out', m.line]),
        onStderr: (m) => events.push(['err', m.line]),
        onResult: (r) => events.push(['result', r.text]),
      },
    )
    // ipykernel may split one write into several stream messages, so order is checked on the joined text.
    const resultAt = events.findIndex(([kind]) => kind === 'result')
    assert.equal(resultAt, events.length - 1, `the result comes last in ${JSON.stringify(events)}`)
    assert.deepEqual(events.slice(0, resultAt).map(([kind]) => kind), Array(resultAt).fill('out'))
    assert.equal(events.slice(0, resultAt).map(([, line]) => line).join(''), 'line 0\nline 1\nline 2\n')
    assert.equal(events[resultAt][1], 'done')
    assert.equal(execution.text, 'done')
  })

  it('returns display() output as a result that is not the main one', async () => {
    const execution = await sandbox.runCode('from IPython.display import display\ndisplay("shown")\n5')
    const shown = execution.results.find((r) => !r.isMainResult)
    assert.ok(shown, `a display result among ${JSON.stringify(execution.results)}`)
    assert.match(shown.text, /shown/)
    assert.equal(execution.text, '5')
  })

  it('returns a pandas DataFrame as html and data', async () => {
    const execution = await sandbox.runCode('import pandas as pd\npd.DataFrame({"a": [1, 2], "b": ["x", "y"]})')
    const result = execution.results.find((r) => r.isMainResult)
    assert.ok(result, `a main result among ${JSON.stringify(execution.results)}`)
    assert.match(result.html ?? '', /<table/)
    assert.ok(result.data, `data in ${JSON.stringify(result.formats())}`)
    assert.match(JSON.stringify(result.data), /"a"/)
  })

  it('interrupts on a client timeout and the context keeps working', async () => {
    const context = await sandbox.createCodeContext({ language: 'python' })
    await sandbox.runCode('kept = 3', { context })
    await assert.rejects(sandbox.runCode('while True: pass', { context, timeoutMs: 3_000 }), TimeoutError)
    // The interrupt reaches the kernel asynchronously: retry the next run for a while.
    let text
    for (let attempt = 0; attempt < 15 && text !== '4'; attempt++) {
      try {
        text = (await sandbox.runCode('kept + 1', { context, timeoutMs: 10_000 })).text
      } catch (e) {
        if (!(e instanceof TimeoutError)) throw e
        await sleep(1_000)
      }
    }
    assert.equal(text, '4')
    await sandbox.removeCodeContext(context.id)
  })

  it('runs typescript', async () => {
    const execution = await sandbox.runCode('const n: number = 40; n + 2', { language: 'typescript' })
    assert.equal(execution.error, undefined, JSON.stringify(execution.error))
    assert.equal(execution.text, '42')
  })

  it('runs bash', async () => {
    const execution = await sandbox.runCode('echo "from bash $((40 + 2))"', { language: 'bash' })
    assert.equal(execution.error, undefined, JSON.stringify(execution.error))
    assert.deepEqual(execution.logs.stdout.join('').trim(), 'from bash 42')
  })
})

describe('code interpreter, own sandboxes', () => {
  it('runs R', async (t) => {
    const sandbox = await createSandbox(t, {}, Sandbox, TEMPLATE)
    const execution = await sandbox.runCode('x <- c(40, 2); sum(x)', { language: 'r' })
    assert.equal(execution.error, undefined, JSON.stringify(execution.error))
    // IRkernel sends values as display data, which E2B's own R tests read from results[0].
    assert.equal(execution.results[0]?.text, '[1] 42', JSON.stringify(execution.toJSON?.() ?? execution))
  })

  it('runs Java', async (t) => {
    const sandbox = await createSandbox(t, {}, Sandbox, TEMPLATE)
    const execution = await sandbox.runCode('int n = 40;\nn + 2', { language: 'java' })
    assert.equal(execution.error, undefined, JSON.stringify(execution.error))
    assert.match(execution.text ?? '', /42/)
  })

  it('fails runCode with the SDK timeout error when the sandbox is killed', async (t) => {
    const sandbox = await createSandbox(t, {}, Sandbox, TEMPLATE)
    assert.equal((await sandbox.runCode('1 + 1')).text, '2')
    const running = sandbox.runCode('import time; time.sleep(120)', { timeoutMs: 150_000 })
    running.catch(() => {})
    await sleep(2_000)
    await sandbox.kill()
    await assert.rejects(running, TimeoutError)
  })
})
