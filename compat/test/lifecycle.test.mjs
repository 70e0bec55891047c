// Pause, resume, auto-pause/auto-resume, snapshots and fork through the released SDK.
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { Sandbox } from 'e2b'
import { RUN_ID, createSandbox, eventually, killQuietly, uniqueTag, it } from '../lib/support.mjs'

async function listAll(opts) {
  const paginator = Sandbox.list(opts)
  const items = []
  while (paginator.hasNext) items.push(...(await paginator.nextItems()))
  return items
}

async function listSnapshots(opts) {
  const paginator = Sandbox.listSnapshots(opts)
  const items = []
  while (paginator.hasNext) items.push(...(await paginator.nextItems()))
  return items
}

describe('pause and resume', () => {
  it('pauses, lists as paused, and connect resumes with files and processes intact', async (t) => {
    const tag = uniqueTag('pause')
    const sandbox = await createSandbox(t, { metadata: { test: tag }, timeoutMs: 120_000 })
    await sandbox.files.write('/home/user/kept.txt', 'kept across pause')
    const bg = await sandbox.commands.run('sleep 600', { background: true })

    assert.equal(await sandbox.pause(), true)
    assert.equal(await sandbox.pause(), false, 'a second pause reports it was already paused')
    assert.equal((await sandbox.getInfo()).state, 'paused')
    const query = { metadata: { compatRun: RUN_ID, test: tag } }
    assert.deepEqual((await listAll({ query: { ...query, state: ['paused'] } })).map((s) => s.sandboxId), [sandbox.sandboxId])
    assert.deepEqual(await listAll({ query: { ...query, state: ['running'] } }), [])

    const resumed = await Sandbox.connect(sandbox.sandboxId, { timeoutMs: 120_000 })
    assert.equal((await resumed.getInfo()).state, 'running')
    assert.equal(await resumed.files.read('/home/user/kept.txt'), 'kept across pause')
    const ps = await resumed.commands.list()
    assert.ok(ps.some((p) => p.pid === bg.pid), `background process ${bg.pid} survives`)

    // Several cycles in a row, the deprecated betaPause included.
    for (let i = 0; i < 3; i++) {
      assert.equal(await Sandbox.betaPause(sandbox.sandboxId), true)
      await Sandbox.connect(sandbox.sandboxId)
    }
    assert.equal((await resumed.commands.run('cat /home/user/kept.txt')).stdout, 'kept across pause')
  })

  it('kills a paused sandbox', async (t) => {
    const sandbox = await createSandbox(t)
    assert.equal(await sandbox.pause(), true)
    assert.equal(await sandbox.kill(), true)
    assert.equal(await sandbox.kill(), false)
    await assert.rejects(Sandbox.connect(sandbox.sandboxId), (err) => err.name === 'SandboxNotFoundError')
  })

  it('auto-pauses at its timeout and a command resumes it', async (t) => {
    const sandbox = await createSandbox(t, { timeoutMs: 3_000, lifecycle: { onTimeout: 'pause', autoResume: true } })
    await sandbox.files.write('/home/user/auto.txt', 'auto')
    const info = await sandbox.getInfo()
    assert.deepEqual(info.lifecycle, { onTimeout: 'pause', autoResume: true })
    await eventually(async () => (await sandbox.getInfo()).state === 'paused', { timeoutMs: 60_000, what: 'auto-pause' })

    const result = await sandbox.commands.run('cat /home/user/auto.txt')
    assert.equal(result.stdout, 'auto')
    assert.equal((await sandbox.getInfo()).state, 'running')
  })
})

describe('snapshots and fork', () => {
  it('creates a snapshot that new sandboxes start from, lists and deletes it', async (t) => {
    const parent = await createSandbox(t)
    await parent.files.write('/home/user/snap.txt', 'in the snapshot')
    const name = uniqueTag('snap').toLowerCase()
    const snap = await parent.createSnapshot({ name })
    assert.ok(snap.snapshotId)
    assert.deepEqual(snap.names, [name])
    assert.equal((await parent.getInfo()).state, 'running')

    const listed = await listSnapshots({ sandboxId: parent.sandboxId })
    assert.deepEqual(listed.map((s) => s.snapshotId), [snap.snapshotId])

    const child = await createSandbox(t, {}, Sandbox, snap.snapshotId)
    assert.equal(await child.files.read('/home/user/snap.txt'), 'in the snapshot')
    await child.files.write('/home/user/snap.txt', 'child')
    assert.equal(await parent.files.read('/home/user/snap.txt'), 'in the snapshot')

    await killQuietly(child)
    assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId), true)
    assert.equal(await Sandbox.deleteSnapshot(snap.snapshotId), false)
    assert.deepEqual(await listSnapshots({ sandboxId: parent.sandboxId }), [])
  })

  it('forks a sandbox into a copy that diverges', async (t) => {
    const parent = await createSandbox(t)
    await parent.files.write('/home/user/fork.txt', 'before')
    const [child] = await Sandbox.fork(parent.sandboxId, { timeoutMs: 120_000 })
    assert.ok(!(child instanceof Error), String(child))
    t.after(() => killQuietly(child))
    assert.notEqual(child.sandboxId, parent.sandboxId)
    assert.equal(await child.files.read('/home/user/fork.txt'), 'before')
    await child.files.write('/home/user/fork.txt', 'child')
    await parent.files.write('/home/user/fork.txt', 'parent')
    assert.equal(await child.files.read('/home/user/fork.txt'), 'child')
    assert.equal(await parent.files.read('/home/user/fork.txt'), 'parent')
  })
})
