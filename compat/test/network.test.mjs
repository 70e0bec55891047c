// Egress rules through the released SDK: create with network.allowOut/denyOut and allowInternetAccess, then
// sandbox.updateNetwork. Only the API and the sandbox's own resolver set-up are checked here: traffic is tested in
// the server's Java tests against a test-made network namespace, never an outside address.
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { Sandbox, SandboxNotFoundError } from 'e2b'
import { createSandbox, it } from '../lib/support.mjs'

describe('network', () => {
  it('creates with egress rules, updates them at run time and refuses bad entries', async (t) => {
    const sandbox = await createSandbox(t, {
      allowInternetAccess: false,
      network: { allowOut: ['203.0.113.10', 'allowed.test', '*.wild.test'], denyOut: ['198.51.100.0/24'] },
    })
    const info = await sandbox.getInfo()
    assert.equal(info.allowInternetAccess, false)
    // Sandboxes resolve names through Boxwood's forwarder, not the host's (possibly private) resolver.
    const resolv = await sandbox.commands.run('cat /etc/resolv.conf')
    assert.match(resolv.stdout, /^nameserver 10\.88\.0\.1$/m)

    assert.deepEqual(info.network.allowOut, ['203.0.113.10/32', 'allowed.test', '*.wild.test'])
    assert.deepEqual(info.network.denyOut, ['198.51.100.0/24'])

    await sandbox.updateNetwork({ allowOut: ['198.51.100.0/24'], denyOut: ['0.0.0.0/0'] })
    assert.deepEqual((await sandbox.getInfo()).network.denyOut, ['0.0.0.0/0'])
    await sandbox.updateNetwork({ allowInternetAccess: true })
    await assert.rejects(sandbox.updateNetwork({ denyOut: ['example.com'] }), /deny rules/)
    await assert.rejects(sandbox.updateNetwork({ allowOut: ['10.0.0.1/8'] }), /host bits/)

    await sandbox.kill()
    await assert.rejects(Sandbox.updateNetwork(sandbox.sandboxId, { allowOut: [] }), SandboxNotFoundError)
  })

  it('refuses a malformed CIDR at create', async () => {
    await assert.rejects(Sandbox.create('base', { network: { denyOut: ['1.2.3.4/40'] } }), /prefix/)
  })
})
