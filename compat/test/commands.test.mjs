// Process service through the released SDK: run, background, stdin, kill, list, envs, cwd, user, timeouts, exit codes.
import assert from 'node:assert/strict'
import { after, before, describe } from 'node:test'
import { CommandExitError, Sandbox, TimeoutError } from 'e2b'
import { createSandbox, eventually, waitFor, it, killQuietly } from '../lib/support.mjs'

describe('commands', () => {
  /** @type {Sandbox} */
  let sandbox
  before(async () => {
    sandbox = await createSandbox(undefined, { envs: { COMPAT_WIDE: 'sandbox-wide', COMPAT_OVERRIDE: 'wide' } })
  })
  after(() => killQuietly(sandbox))

  it('runs a command and returns stdout, stderr and exit code', async () => {
    const result = await sandbox.commands.run('echo hello; echo oops >&2; printf "%s" "no newline"')
    assert.equal(result.exitCode, 0)
    assert.equal(result.stdout, 'hello\nno newline')
    assert.equal(result.stderr, 'oops\n')
  })

  it('streams output to onStdout and onStderr as it is produced', async () => {
    const out = []
    const err = []
    const result = await sandbox.commands.run('for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.1; done', {
      onStdout: (data) => out.push(data),
      onStderr: (data) => err.push(data),
    })
    assert.equal(out.join(''), 'out1\nout2\nout3\n')
    assert.equal(err.join(''), 'err1\nerr2\nerr3\n')
    assert.equal(result.stdout, out.join(''))
  })

  it('carries non-ASCII and larger output intact', async () => {
    const result = await sandbox.commands.run('printf "žluťoučký kůň 🐴\\n"; head -c 300000 /dev/zero | tr "\\0" "x"')
    assert.ok(result.stdout.startsWith('žluťoučký kůň 🐴\n'))
    assert.equal(result.stdout.length, 'žluťoučký kůň 🐴\n'.length + 300_000)
  })

  it('throws CommandExitError with the exit code and output of a failing command', async () => {
    await assert.rejects(sandbox.commands.run('echo before; echo bad >&2; exit 3'), (err) => {
      assert.ok(err instanceof CommandExitError, `got ${err}`)
      assert.equal(err.exitCode, 3)
      assert.equal(err.stdout, 'before\n')
      assert.equal(err.stderr, 'bad\n')
      return true
    })
  })

  it('runs a command in the background and waits for it', async () => {
    const handle = await sandbox.commands.run('sleep 0.5; echo finished', { background: true })
    assert.ok(handle.pid > 0, `pid ${handle.pid}`)
    const result = await handle.wait()
    assert.equal(result.exitCode, 0)
    assert.equal(result.stdout, 'finished\n')
  })

  it('feeds stdin with sendStdin and ends it with closeStdin', async () => {
    const chunks = []
    let seen
    const handle = await sandbox.commands.run('cat', {
      background: true,
      stdin: true,
      onStdout: (data) => {
        chunks.push(data)
        if (seen && chunks.join('').includes('first line')) seen()
      },
    })
    const echoed = waitFor((resolve) => { seen = resolve }, { what: 'cat echoing stdin' })
    await sandbox.commands.sendStdin(handle.pid, 'first line\n')
    await echoed
    await handle.sendStdin(new TextEncoder().encode('second line\n'))
    await sandbox.commands.closeStdin(handle.pid)
    const result = await handle.wait()
    assert.equal(result.exitCode, 0)
    assert.equal(result.stdout, 'first line\nsecond line\n')
  })

  it('gives a command started without stdin an empty stdin', async () => {
    const result = await sandbox.commands.run('cat; echo "eof reached"')
    assert.equal(result.stdout, 'eof reached\n')
  })

  it('lists running commands and kills one', async () => {
    const handle = await sandbox.commands.run('sleep 600 # compat-list-marker', { background: true })
    const listed = await sandbox.commands.list()
    const mine = listed.find((p) => p.pid === handle.pid)
    assert.ok(mine, `pid ${handle.pid} in ${JSON.stringify(listed.map((p) => p.pid))}`)
    assert.equal(mine.cmd, '/bin/bash')
    assert.ok(mine.args.some((a) => a.includes('compat-list-marker')), `args ${JSON.stringify(mine.args)}`)

    assert.equal(await sandbox.commands.kill(handle.pid), true)
    await assert.rejects(handle.wait(), CommandExitError)
    await eventually(async () => !(await sandbox.commands.list()).some((p) => p.pid === handle.pid), {
      what: 'killed command gone from list',
    })
    assert.equal(await sandbox.commands.kill(handle.pid), false)
  })

  it('kills through the handle', async () => {
    const handle = await sandbox.commands.run('sleep 600', { background: true })
    assert.equal(await handle.kill(), true)
    await assert.rejects(handle.wait(), (err) => {
      assert.ok(err instanceof CommandExitError)
      assert.notEqual(err.exitCode, 0)
      return true
    })
  })

  it('reconnects to a running command by pid', async () => {
    const handle = await sandbox.commands.run('sleep 1; echo reconnected', { background: true })
    const again = await sandbox.commands.connect(handle.pid)
    const result = await again.wait()
    assert.equal(result.stdout, 'reconnected\n')
  })

  it('applies sandbox-wide envs, per-call envs, and does not leak per-call envs', async () => {
    assert.equal((await sandbox.commands.run('echo "$COMPAT_WIDE"')).stdout, 'sandbox-wide\n')
    assert.equal(
      (await sandbox.commands.run('echo "$COMPAT_CALL"', { envs: { COMPAT_CALL: 'per call' } })).stdout,
      'per call\n'
    )
    assert.equal(
      (await sandbox.commands.run('echo "$COMPAT_OVERRIDE"', { envs: { COMPAT_OVERRIDE: 'call wins' } })).stdout,
      'call wins\n'
    )
    assert.equal((await sandbox.commands.run('echo "[$COMPAT_CALL]"')).stdout, '[]\n')
    assert.equal((await sandbox.commands.run('echo "$COMPAT_OVERRIDE"')).stdout, 'wide\n')
  })

  it('runs in the requested working directory, home by default', async () => {
    assert.equal((await sandbox.commands.run('pwd')).stdout, '/home/user\n')
    assert.equal((await sandbox.commands.run('pwd', { cwd: '/tmp' })).stdout, '/tmp\n')
    await sandbox.files.makeDir('/tmp/compat cwd')
    assert.equal((await sandbox.commands.run('pwd', { cwd: '/tmp/compat cwd' })).stdout, '/tmp/compat cwd\n')
  })

  it('runs as the default user or as root', async () => {
    const asUser = await sandbox.commands.run('whoami; id -u; echo "$HOME"')
    assert.equal(asUser.stdout, 'user\n1000\n/home/user\n')
    // No cwd given: like envd, the sandbox's default workdir (/home/user) applies to root too.
    const asRoot = await sandbox.commands.run('whoami; id -u; echo "$HOME"', { user: 'root' })
    assert.equal(asRoot.stdout, 'root\n0\n/root\n')

    // Files a command creates belong to the user it ran as.
    await sandbox.commands.run('touch /tmp/by-user')
    await sandbox.commands.run('touch /tmp/by-root', { user: 'root' })
    const owners = await sandbox.commands.run('stat -c %U /tmp/by-user /tmp/by-root')
    assert.equal(owners.stdout, 'user\nroot\n')
  })

  it('lets the default user sudo without a password', async () => {
    const result = await sandbox.commands.run('sudo -n whoami')
    assert.equal(result.stdout, 'root\n')
  })

  it('ends a command that outlives timeoutMs with a TimeoutError', async () => {
    await assert.rejects(sandbox.commands.run('sleep 30', { timeoutMs: 1_000 }), TimeoutError)
    // The server must have killed it, not just closed the stream.
    await eventually(
      async () => !(await sandbox.commands.list()).some((p) => p.args.some((a) => a === 'sleep 30')),
      { what: 'timed-out command killed' }
    )
  })

  it('ends a background command that outlives timeoutMs', async () => {
    const handle = await sandbox.commands.run('sleep 30; echo never', { background: true, timeoutMs: 1_000 })
    await assert.rejects(handle.wait(), TimeoutError)
    assert.ok(!handle.stdout.includes('never'))
  })

  it('reports a command that cannot be run as exit code 127', async () => {
    await assert.rejects(sandbox.commands.run('definitely-not-a-command-compat'), (err) => {
      assert.ok(err instanceof CommandExitError)
      assert.equal(err.exitCode, 127)
      assert.match(err.stderr, /not found/)
      return true
    })
  })
})
