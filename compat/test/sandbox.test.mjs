// Control plane through the released SDK: create, connect, list, getInfo, setTimeout, isRunning, kill.
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { Sandbox, SandboxNotFoundError } from 'e2b'
import { RUN_ID, createSandbox, eventually, uniqueTag, it } from '../lib/support.mjs'

// An id of the right shape that no server has issued.
const UNKNOWN_ID = 'zz0compat0unknown000'

async function listAll(opts) {
  const paginator = Sandbox.list(opts)
  const items = []
  while (paginator.hasNext) items.push(...(await paginator.nextItems()))
  return items
}

describe('create and getInfo', () => {
  it('creates a running sandbox whose info reflects the request', async (t) => {
    const tag = uniqueTag('create')
    const sandbox = await createSandbox(t, { metadata: { test: tag }, timeoutMs: 120_000 })

    assert.match(sandbox.sandboxId, /^[a-z0-9]+$/)
    assert.equal(await sandbox.isRunning(), true)

    const info = await sandbox.getInfo()
    assert.equal(info.sandboxId, sandbox.sandboxId)
    assert.deepEqual(info.metadata, { compatRun: RUN_ID, test: tag })
    assert.equal(info.state, 'running')
    assert.ok(info.cpuCount >= 1, `cpuCount ${info.cpuCount}`)
    assert.ok(info.memoryMB >= 128, `memoryMB ${info.memoryMB}`)
    assert.ok(info.envdVersion, 'envdVersion is set')
    assert.ok(info.startedAt instanceof Date && !Number.isNaN(info.startedAt.getTime()))
    // The server's own clock sets both ends, so their gap is the requested timeout.
    const lifetime = info.endAt.getTime() - info.startedAt.getTime()
    assert.ok(Math.abs(lifetime - 120_000) <= 5_000, `endAt - startedAt = ${lifetime} ms, want ~120000`)

    const staticInfo = await Sandbox.getInfo(sandbox.sandboxId)
    assert.equal(staticInfo.sandboxId, sandbox.sandboxId)
    assert.deepEqual(staticInfo.metadata, info.metadata)

    const result = await sandbox.commands.run('echo created')
    assert.equal(result.stdout, 'created\n')
  })

  it('passes create envs to every command', async (t) => {
    const sandbox = await createSandbox(t, { envs: { COMPAT_CREATE_ENV: 'from create' } })
    const result = await sandbox.commands.run('echo "$COMPAT_CREATE_ENV"')
    assert.equal(result.stdout, 'from create\n')
  })

  it('rejects an unknown template', async () => {
    await assert.rejects(
      Sandbox.create('no-such-template-compat', { metadata: { compatRun: RUN_ID } }),
      (err) => {
        assert.match(String(err.message), /template|not found/i)
        return true
      }
    )
  })

  it('getInfo of an unknown sandbox throws SandboxNotFoundError', async () => {
    await assert.rejects(Sandbox.getInfo(UNKNOWN_ID), SandboxNotFoundError)
  })
})

describe('connect', () => {
  it('connects by id to the same running sandbox', async (t) => {
    const sandbox = await createSandbox(t)
    await sandbox.files.write('/tmp/connect-marker', 'written by the first handle')

    const same = await Sandbox.connect(sandbox.sandboxId)
    assert.equal(same.sandboxId, sandbox.sandboxId)
    assert.equal(await same.files.read('/tmp/connect-marker'), 'written by the first handle')
    const result = await same.commands.run('cat /tmp/connect-marker')
    assert.equal(result.stdout, 'written by the first handle')
  })

  it('connect with a timeout extends the sandbox lifetime', async (t) => {
    const sandbox = await createSandbox(t, { timeoutMs: 60_000 })
    const before = await sandbox.getInfo()
    await Sandbox.connect(sandbox.sandboxId, { timeoutMs: 600_000 })
    const afterConnect = await sandbox.getInfo()
    assert.ok(
      afterConnect.endAt.getTime() - before.endAt.getTime() >= 400_000,
      `endAt moved from ${before.endAt.toISOString()} to ${afterConnect.endAt.toISOString()}`
    )
  })

  it('connect to an unknown sandbox throws SandboxNotFoundError', async () => {
    await assert.rejects(Sandbox.connect(UNKNOWN_ID), SandboxNotFoundError)
  })
})

describe('list', () => {
  it('filters by metadata and state, and pages with limit and nextToken', async (t) => {
    // A value that needs every layer of the SDK's triple encoding to round-trip.
    const tag = `${uniqueTag('list')} a b&c=d`
    const sandboxes = await Promise.all([0, 1, 2].map(() => createSandbox(t, { metadata: { listTag: tag } })))
    const ids = sandboxes.map((s) => s.sandboxId).sort()
    const query = { metadata: { compatRun: RUN_ID, listTag: tag } }

    const all = await listAll({ query })
    assert.deepEqual(all.map((s) => s.sandboxId).sort(), ids)
    for (const info of all) {
      assert.equal(info.state, 'running')
      assert.equal(info.metadata.listTag, tag)
      assert.ok(info.endAt > info.startedAt)
    }

    // Pagination: 2 + 1, every sandbox exactly once.
    const paginator = Sandbox.list({ query, limit: 2 })
    const first = await paginator.nextItems()
    assert.equal(first.length, 2)
    assert.equal(paginator.hasNext, true, 'a next page after 2 of 3')
    assert.ok(paginator.nextToken, 'nextToken is set')
    const second = await paginator.nextItems()
    assert.equal(second.length, 1)
    assert.equal(paginator.hasNext, false, 'no page after the last one')
    assert.deepEqual([...first, ...second].map((s) => s.sandboxId).sort(), ids)

    // A different metadata value matches nothing.
    assert.deepEqual(await listAll({ query: { metadata: { compatRun: RUN_ID, listTag: `${tag}-other` } } }), [])

    // State filters: a killed sandbox leaves the running list; nothing here is paused.
    assert.equal(await sandboxes[0].kill(), true)
    const running = await listAll({ query: { ...query, state: ['running'] } })
    assert.deepEqual(running.map((s) => s.sandboxId).sort(), ids.filter((id) => id !== sandboxes[0].sandboxId))
    assert.deepEqual(await listAll({ query: { ...query, state: ['paused'] } }), [])
  })

  it('resumes listing from a nextToken in a new paginator', async (t) => {
    const tag = uniqueTag('token')
    const sandboxes = await Promise.all([0, 1].map(() => createSandbox(t, { metadata: { listTag: tag } })))
    const query = { metadata: { compatRun: RUN_ID, listTag: tag } }

    const firstPaginator = Sandbox.list({ query, limit: 1 })
    const first = await firstPaginator.nextItems()
    assert.equal(first.length, 1)
    assert.ok(firstPaginator.nextToken)

    const rest = await listAll({ query, limit: 1, nextToken: firstPaginator.nextToken })
    assert.deepEqual(
      [...first, ...rest].map((s) => s.sandboxId).sort(),
      sandboxes.map((s) => s.sandboxId).sort()
    )
  })
})

describe('timeouts', () => {
  it('setTimeout moves endAt', async (t) => {
    const sandbox = await createSandbox(t, { timeoutMs: 60_000 })
    await sandbox.setTimeout(300_000)
    const info = await sandbox.getInfo()
    const remaining = info.endAt.getTime() - Date.now()
    // Generous bounds: they only tell "moved to ~5 min" from "still ~1 min".
    assert.ok(remaining > 200_000 && remaining <= 330_000, `endAt is ${remaining} ms away, want ~300000`)

    await Sandbox.setTimeout(sandbox.sandboxId, 120_000)
    const shortened = await Sandbox.getInfo(sandbox.sandboxId)
    const left = shortened.endAt.getTime() - Date.now()
    assert.ok(left > 60_000 && left <= 150_000, `endAt is ${left} ms away, want ~120000`)
  })

  it('a sandbox whose timeout expires stops running and is gone', async (t) => {
    const sandbox = await createSandbox(t)
    assert.equal(await sandbox.isRunning(), true)
    await sandbox.setTimeout(3_000)

    await eventually(async () => !(await sandbox.isRunning()), { timeoutMs: 60_000, what: 'isRunning() === false after expiry' })
    await assert.rejects(sandbox.commands.run('true'), 'commands fail after expiry')
    await assert.rejects(Sandbox.getInfo(sandbox.sandboxId), SandboxNotFoundError)
    const listed = await listAll({ query: { metadata: { compatRun: RUN_ID }, state: ['running'] } })
    assert.ok(!listed.some((s) => s.sandboxId === sandbox.sandboxId), 'expired sandbox is not listed as running')
    assert.equal(await Sandbox.kill(sandbox.sandboxId), false)
  })

  it('setTimeout of an unknown sandbox throws SandboxNotFoundError', async () => {
    await assert.rejects(Sandbox.setTimeout(UNKNOWN_ID, 60_000), SandboxNotFoundError)
  })
})

describe('kill', () => {
  it('kills a sandbox, after which it is not running and a second kill is false', async (t) => {
    const sandbox = await createSandbox(t)
    assert.equal(await sandbox.kill(), true)
    assert.equal(await sandbox.isRunning(), false)
    await assert.rejects(sandbox.commands.run('true'))
    await assert.rejects(Sandbox.getInfo(sandbox.sandboxId), SandboxNotFoundError)
    assert.equal(await Sandbox.kill(sandbox.sandboxId), false)
  })

  it('Sandbox.kill by id works and an unknown id is false', async (t) => {
    const sandbox = await createSandbox(t)
    assert.equal(await Sandbox.kill(sandbox.sandboxId), true)
    assert.equal(await sandbox.isRunning(), false)
    assert.equal(await Sandbox.kill(UNKNOWN_ID), false)
  })
})
