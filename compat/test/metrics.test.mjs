// Sandbox metrics through the released SDK: real CPU, memory and disk figures.
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { Sandbox, SandboxNotFoundError } from 'e2b'
import { createSandbox, eventually, it } from '../lib/support.mjs'

function assertSane(metric) {
  assert.ok(metric.timestamp instanceof Date && !Number.isNaN(metric.timestamp.getTime()), 'timestamp is a date')
  assert.ok(Math.abs(metric.timestamp.getTime() - Date.now()) < 600_000, `timestamp ${metric.timestamp.toISOString()} is recent`)
  assert.ok(metric.cpuCount >= 1, `cpuCount ${metric.cpuCount}`)
  assert.ok(metric.cpuUsedPct >= 0, `cpuUsedPct ${metric.cpuUsedPct}`)
  assert.ok(metric.memTotal > 0, `memTotal ${metric.memTotal}`)
  // The agent alone (a JVM) uses memory, so a real figure is never zero.
  assert.ok(metric.memUsed > 0 && metric.memUsed <= metric.memTotal, `memUsed ${metric.memUsed} of ${metric.memTotal}`)
  assert.ok(metric.diskTotal > 0, `diskTotal ${metric.diskTotal}`)
  assert.ok(metric.diskUsed >= 0 && metric.diskUsed <= metric.diskTotal, `diskUsed ${metric.diskUsed} of ${metric.diskTotal}`)
}

describe('metrics', () => {
  it('reports at least one sane entry within 30 s', async (t) => {
    const sandbox = await createSandbox(t)
    const metrics = await eventually(async () => {
      const m = await sandbox.getMetrics()
      return m.length >= 1 ? m : null
    }, { timeoutMs: 30_000, intervalMs: 1_000, what: 'getMetrics() has an entry' })
    for (const metric of metrics) assertSane(metric)

    const byId = await Sandbox.getMetrics(sandbox.sandboxId)
    assert.ok(byId.length >= 1)
    assertSane(byId.at(-1))
  })

  it('sees disk written inside the sandbox', async (t) => {
    const sandbox = await createSandbox(t)
    const baseline = await eventually(async () => (await sandbox.getMetrics()).at(-1), {
      timeoutMs: 30_000, intervalMs: 1_000, what: 'a first metrics entry',
    })
    await sandbox.commands.run('head -c 64M /dev/urandom > /home/user/filler.bin && sync')
    // 64 MiB of incompressible data must show up, give or take what else changed meanwhile.
    await eventually(async () => {
      const latest = (await sandbox.getMetrics()).at(-1)
      return latest && latest.diskUsed - baseline.diskUsed >= 48 * 1024 * 1024
    }, { timeoutMs: 60_000, intervalMs: 2_000, what: 'diskUsed grew by the 64 MiB written' })
  })

  it('getMetrics of an unknown sandbox throws SandboxNotFoundError', async () => {
    await assert.rejects(Sandbox.getMetrics('zz0compat0unknown000'), SandboxNotFoundError)
  })
})
