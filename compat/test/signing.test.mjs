// Signed /files URLs: fetched with plain fetch and no headers, so the server finds the sandbox by signature alone.
import assert from 'node:assert/strict'
import { after, before, describe } from 'node:test'
import { Sandbox } from 'e2b'
import { createSandbox, uniqueTag, it, killQuietly } from '../lib/support.mjs'

const EXPIRED = { code: 401, message: 'signature is already expired' }

function formWith(content) {
  const form = new FormData()
  form.append('file', new Blob([content]), 'ignored-name')
  return form
}

describe('signed file URLs', () => {
  /** @type {Sandbox} */
  let sandbox
  before(async () => {
    sandbox = await createSandbox()
  })
  after(() => killQuietly(sandbox))

  it('produces URLs that carry a signature and no sandbox credentials', async () => {
    const url = new URL(await sandbox.downloadUrl('hello.txt', { useSignatureExpiration: 600 }))
    assert.equal(url.pathname, '/files')
    assert.equal(url.searchParams.get('path'), 'hello.txt')
    assert.match(url.searchParams.get('signature'), /^v1_[A-Za-z0-9+/]+$/)
    assert.match(url.searchParams.get('signature_expiration'), /^\d+$/)
  })

  it('downloads with a signed URL that expires later', async () => {
    const content = `download ${uniqueTag('x')}`
    await sandbox.files.write('signed-download.txt', content)
    const res = await fetch(await sandbox.downloadUrl('signed-download.txt', { useSignatureExpiration: 600 }))
    assert.equal(res.status, 200)
    assert.equal(await res.text(), content)
  })

  it('downloads with a signed URL without expiry', async () => {
    await sandbox.files.write('signed-forever.txt', 'no expiry')
    const res = await fetch(await sandbox.downloadUrl('signed-forever.txt'))
    assert.equal(res.status, 200)
    assert.equal(await res.text(), 'no expiry')
  })

  it('downloads as root', async () => {
    await sandbox.files.write('signed-root.txt', 'root only', { user: 'root' })
    const res = await fetch(await sandbox.downloadUrl('signed-root.txt', { user: 'root', useSignatureExpiration: 600 }))
    assert.equal(res.status, 200)
    assert.equal(await res.text(), 'root only')
  })

  it('uploads with a signed URL', async () => {
    const content = `upload ${uniqueTag('y')}`
    const res = await fetch(await sandbox.uploadUrl('signed-upload.txt', { useSignatureExpiration: 600 }), {
      method: 'POST',
      body: formWith(content),
    })
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), [{ name: 'signed-upload.txt', path: '/home/user/signed-upload.txt', type: 'file' }])
    assert.equal(await sandbox.files.read('signed-upload.txt'), content)
    assert.equal((await sandbox.files.getInfo('signed-upload.txt')).owner, 'user')
  })

  it('uploads as root', async () => {
    const res = await fetch(await sandbox.uploadUrl('signed-upload-root.txt', { user: 'root', useSignatureExpiration: 600 }), {
      method: 'POST',
      body: formWith('as root'),
    })
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), [{ name: 'signed-upload-root.txt', path: '/root/signed-upload-root.txt', type: 'file' }])
    assert.equal(await sandbox.files.read('/root/signed-upload-root.txt', { user: 'root' }), 'as root')
  })

  it('refuses an expired download URL with 401 and E2B\'s exact body', async () => {
    await sandbox.files.write('signed-expired.txt', 'secret')
    const res = await fetch(await sandbox.downloadUrl('signed-expired.txt', { useSignatureExpiration: -10_000 }))
    const body = await res.text()
    assert.equal(res.status, 401)
    assert.deepEqual(JSON.parse(body), EXPIRED)
  })

  it('refuses an expired upload URL with 401 and E2B\'s exact body, writing nothing', async () => {
    const res = await fetch(await sandbox.uploadUrl('signed-expired-upload.txt', { useSignatureExpiration: -10_000 }), {
      method: 'POST',
      body: formWith('must not land'),
    })
    assert.equal(res.status, 401)
    assert.deepEqual(JSON.parse(await res.text()), EXPIRED)
    assert.equal(await sandbox.files.exists('signed-expired-upload.txt'), false)
  })

  it('refuses a tampered signature and a read URL used to write', async () => {
    await sandbox.files.write('signed-guarded.txt', 'original')
    const url = new URL(await sandbox.downloadUrl('signed-guarded.txt', { useSignatureExpiration: 600 }))

    const tampered = new URL(url)
    tampered.searchParams.set('signature', `v1_${'A'.repeat(43)}`)
    const denied = await fetch(tampered)
    assert.ok(denied.status >= 400, `tampered signature answered ${denied.status}`)
    assert.notEqual(await denied.text(), 'original')

    const otherPath = new URL(url)
    otherPath.searchParams.set('path', 'signed-download.txt')
    const wrongPath = await fetch(otherPath)
    assert.ok(wrongPath.status >= 400, `signature for another path answered ${wrongPath.status}`)
    await wrongPath.arrayBuffer()

    // The server may refuse before reading the body and close the connection, so the client can see a
    // reset (EPIPE) instead of the status; either way nothing may be written.
    const write = await fetch(url, { method: 'POST', body: formWith('overwritten') }).catch((err) => err)
    if (!(write instanceof Error)) {
      assert.ok(write.status >= 400, `read signature used to write answered ${write.status}`)
      await write.arrayBuffer()
    }
    assert.equal(await sandbox.files.read('signed-guarded.txt'), 'original')
  })

  it('stops working once the sandbox is killed', async (t) => {
    const doomed = await createSandbox(t)
    await doomed.files.write('bye.txt', 'still here')
    const url = await doomed.downloadUrl('bye.txt', { useSignatureExpiration: 600 })
    assert.equal(await (await fetch(url)).text(), 'still here')
    assert.equal(await doomed.kill(), true)
    const res = await fetch(url)
    const body = await res.text()
    assert.ok(res.status >= 400, `killed sandbox answered ${res.status}`)
    assert.notEqual(body, 'still here')
  })
})
