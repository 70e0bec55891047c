// Pseudo-terminals through the released SDK: create, sendInput, resize, kill.
import assert from 'node:assert/strict'
import { after, before, describe } from 'node:test'
import { CommandExitError, Sandbox } from 'e2b'
import { createSandbox, eventually, it, killQuietly } from '../lib/support.mjs'

const encoder = new TextEncoder()

/** Opens a PTY whose output accumulates in `output()`. */
async function openPty(sandbox, opts = {}) {
  const decoder = new TextDecoder()
  let text = ''
  const handle = await sandbox.pty.create({
    cols: 80,
    rows: 24,
    timeoutMs: 120_000,
    ...opts,
    onData: (data) => {
      text += decoder.decode(data, { stream: true })
    },
  })
  return { handle, output: () => text }
}

// The terminal echoes what we type, so markers are computed by the shell: the typed
// text contains "$((6*7))", only the shell's answer contains "42".
const expectOutput = (output, pattern, what) =>
  eventually(() => pattern.test(output()), { timeoutMs: 20_000, what: `${what} (output so far: ${JSON.stringify(output().slice(-400))})` })

describe('pty', () => {
  /** @type {Sandbox} */
  let sandbox
  before(async () => {
    sandbox = await createSandbox()
  })
  after(() => killQuietly(sandbox))

  it('runs an interactive shell that answers input', async () => {
    const { handle, output } = await openPty(sandbox)
    assert.ok(handle.pid > 0)
    await sandbox.pty.sendInput(handle.pid, encoder.encode('echo "answer-$((6*7))"; whoami; tty\n'))
    await expectOutput(output, /answer-42/, 'the shell answered')
    await expectOutput(output, /\buser\b/, 'whoami printed the default user')
    await expectOutput(output, /\/dev\/pts\/\d+/, 'the shell runs on a pty')

    await sandbox.pty.sendInput(handle.pid, encoder.encode('exit 0\n'))
    const result = await handle.wait()
    assert.equal(result.exitCode, 0)
  })

  it('sets the initial size and resizes', async () => {
    const { handle, output } = await openPty(sandbox, { cols: 80, rows: 24 })
    await sandbox.pty.sendInput(handle.pid, encoder.encode('echo "size-$((1+0)) $(stty size)"\n'))
    await expectOutput(output, /size-1 24 80/, 'stty size shows the initial 24 rows x 80 cols')

    await sandbox.pty.resize(handle.pid, { cols: 132, rows: 43 })
    await sandbox.pty.sendInput(handle.pid, encoder.encode('echo "size-$((1+1)) $(stty size)"\n'))
    await expectOutput(output, /size-2 43 132/, 'stty size shows the new 43 rows x 132 cols')

    assert.equal(await sandbox.pty.kill(handle.pid), true)
    await assert.rejects(handle.wait(), CommandExitError)
  })

  it('passes envs and cwd, and runs as root on request', async () => {
    const { handle, output } = await openPty(sandbox, { envs: { COMPAT_PTY: 'pty-env' }, cwd: '/tmp', user: 'root' })
    await sandbox.pty.sendInput(handle.pid, encoder.encode('echo "env-$((2*2)) $COMPAT_PTY $(pwd) $(whoami) $TERM"\n'))
    await expectOutput(output, /env-4 pty-env \/tmp root xterm/, 'env, cwd, user and TERM')
    assert.equal(await sandbox.pty.kill(handle.pid), true)
    await assert.rejects(handle.wait())
  })

  it('kills a pty, which then leaves the process list', async () => {
    const { handle } = await openPty(sandbox)
    assert.ok((await sandbox.commands.list()).some((p) => p.pid === handle.pid), 'pty listed while running')
    assert.equal(await sandbox.pty.kill(handle.pid), true)
    await assert.rejects(handle.wait(), (err) => {
      assert.ok(err instanceof CommandExitError, `got ${err}`)
      assert.notEqual(err.exitCode, 0)
      return true
    })
    await eventually(async () => !(await sandbox.commands.list()).some((p) => p.pid === handle.pid), {
      what: 'killed pty gone from the list',
    })
    assert.equal(await sandbox.pty.kill(handle.pid), false)
  })

  it('passes Ctrl-C to the foreground program', async () => {
    const { handle, output } = await openPty(sandbox)
    await sandbox.pty.sendInput(handle.pid, encoder.encode('sleep 600\n'))
    await eventually(async () => {
      const r = await sandbox.commands.run('pgrep -x sleep || true')
      return r.stdout.trim() !== ''
    }, { what: 'sleep started in the pty' })
    await sandbox.pty.sendInput(handle.pid, new Uint8Array([3]))
    await sandbox.pty.sendInput(handle.pid, encoder.encode('echo "after-$((3*3))"\n'))
    await expectOutput(output, /after-9/, 'Ctrl-C interrupted sleep and the shell went on')
    assert.equal(await sandbox.pty.kill(handle.pid), true)
    await assert.rejects(handle.wait())
  })
})
