// Filesystem through the released SDK: /files up- and downloads in every encoding, and the filesystem RPCs.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe } from 'node:test'
import { FileNotFoundError, FileType, FilesystemEventType, NotFoundError, Sandbox, SandboxError } from 'e2b'
import { createSandbox, uniqueTag, waitFor, it, killQuietly } from '../lib/support.mjs'

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')

describe('files', () => {
  /** @type {Sandbox} */
  let sandbox
  before(async () => {
    sandbox = await createSandbox()
  })
  after(() => killQuietly(sandbox))

  describe('write and read', () => {
    it('writes text (multipart) relative to home and reads it back', async () => {
      const info = await sandbox.files.write('hello.txt', 'hello world')
      assert.equal(info.path, '/home/user/hello.txt')
      assert.equal(info.name, 'hello.txt')
      assert.equal(info.type, FileType.FILE)
      assert.equal(await sandbox.files.read('hello.txt'), 'hello world')
      assert.equal(await sandbox.files.read('/home/user/hello.txt'), 'hello world')
      // The agent wrote real bytes into the sandbox filesystem.
      assert.equal((await sandbox.commands.run('cat /home/user/hello.txt')).stdout, 'hello world')
    })

    it('round-trips every byte value', async () => {
      const bytes = new Uint8Array(256 * 4).map((_, i) => i % 256)
      await sandbox.files.write('bytes.bin', bytes.buffer)
      const back = await sandbox.files.read('bytes.bin', { format: 'bytes' })
      assert.ok(back instanceof Uint8Array)
      assert.deepEqual(Buffer.from(back), Buffer.from(bytes))
      const blob = await sandbox.files.read('bytes.bin', { format: 'blob' })
      assert.deepEqual(Buffer.from(await blob.arrayBuffer()), Buffer.from(bytes))
    })

    it('writes with useOctetStream', async () => {
      const text = 'octet stream ✓\n'.repeat(1000)
      const info = await sandbox.files.write('octet/stream.txt', text, { useOctetStream: true })
      assert.equal(info.path, '/home/user/octet/stream.txt')
      assert.equal(await sandbox.files.read('octet/stream.txt'), text)
    })

    it('writes and reads gzip-compressed', async () => {
      const text = 'compressible '.repeat(50_000)
      await sandbox.files.write('gzip.txt', text, { gzip: true })
      assert.equal(await sandbox.files.read('gzip.txt', { gzip: true }), text)
      const size = await sandbox.commands.run('stat -c %s gzip.txt')
      assert.equal(size.stdout.trim(), String(Buffer.byteLength(text)), 'stored decompressed')
    })

    it('moves a few MiB intact in both encodings', async () => {
      const bytes = randomBytes(4 * 1024 * 1024)
      await sandbox.files.write('big-multipart.bin', new Blob([bytes]))
      await sandbox.files.write('big-octet.bin', bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), {
        useOctetStream: true,
      })
      const sums = await sandbox.commands.run('sha256sum big-multipart.bin big-octet.bin')
      const expected = sha256(bytes)
      assert.equal(sums.stdout, `${expected}  big-multipart.bin\n${expected}  big-octet.bin\n`)
      const back = await sandbox.files.read('big-octet.bin', { format: 'bytes' })
      assert.equal(sha256(back), expected)
      const gz = await sandbox.files.read('big-multipart.bin', { format: 'bytes', gzip: true })
      assert.equal(sha256(gz), expected)
    })

    it('streams a ReadableStream up and reads a stream down', async () => {
      const parts = ['alpha\n', 'beta\n', 'gamma\n']
      const upload = new ReadableStream({
        start(controller) {
          for (const p of parts) controller.enqueue(new TextEncoder().encode(p))
          controller.close()
        },
      })
      await sandbox.files.write('streamed.txt', upload)
      const stream = await sandbox.files.read('streamed.txt', { format: 'stream' })
      const chunks = []
      for await (const chunk of stream) chunks.push(Buffer.from(chunk))
      assert.equal(Buffer.concat(chunks).toString(), parts.join(''))
    })

    it('writes several files in one call', async () => {
      const infos = await sandbox.files.write([
        { path: 'multi/a.txt', data: 'file a' },
        { path: 'multi/nested/b.txt', data: 'file b' },
        { path: '/tmp/multi-c.txt', data: new TextEncoder().encode('file c').buffer },
      ])
      assert.deepEqual(
        infos.map((i) => i.path),
        ['/home/user/multi/a.txt', '/home/user/multi/nested/b.txt', '/tmp/multi-c.txt']
      )
      assert.equal(await sandbox.files.read('multi/a.txt'), 'file a')
      assert.equal(await sandbox.files.read('multi/nested/b.txt'), 'file b')
      assert.equal(await sandbox.files.read('/tmp/multi-c.txt'), 'file c')
    })

    it('overwrites an existing file completely', async () => {
      await sandbox.files.write('overwrite.txt', 'a much longer first version')
      await sandbox.files.write('overwrite.txt', 'short')
      assert.equal(await sandbox.files.read('overwrite.txt'), 'short')
    })

    it('reads an empty file as empty', async () => {
      await sandbox.files.write('empty.txt', '')
      assert.equal(await sandbox.files.read('empty.txt'), '')
      assert.equal((await sandbox.files.read('empty.txt', { format: 'bytes' })).length, 0)
    })

    it('stores metadata on write and returns it from getInfo and list', async () => {
      const info = await sandbox.files.write('meta/tagged.txt', 'with metadata', {
        metadata: { Owner: 'alice', purpose: 'compat test' },
      })
      assert.deepEqual(info.metadata, { owner: 'alice', purpose: 'compat test' })
      assert.deepEqual((await sandbox.files.getInfo('meta/tagged.txt')).metadata, { owner: 'alice', purpose: 'compat test' })
      const listed = await sandbox.files.list('meta')
      assert.deepEqual(listed.find((e) => e.name === 'tagged.txt').metadata, { owner: 'alice', purpose: 'compat test' })

      // Each upload replaces the metadata; none clears it.
      await sandbox.files.write('meta/tagged.txt', 'again', { metadata: { other: 'x' } })
      assert.deepEqual((await sandbox.files.getInfo('meta/tagged.txt')).metadata, { other: 'x' })
      await sandbox.files.write('meta/tagged.txt', 'plain')
      assert.equal((await sandbox.files.getInfo('meta/tagged.txt')).metadata, undefined)
    })

    it('writes and reads as root, with root ownership and root-relative paths', async () => {
      const info = await sandbox.files.write('root-file.txt', 'root data', { user: 'root' })
      assert.equal(info.path, '/root/root-file.txt')
      assert.equal(await sandbox.files.read('/root/root-file.txt', { user: 'root' }), 'root data')
      assert.equal((await sandbox.files.getInfo('/root/root-file.txt', { user: 'root' })).owner, 'root')
      assert.equal((await sandbox.files.getInfo('hello.txt')).owner, 'user')
    })

    it('throws FileNotFoundError for a missing file', async () => {
      await assert.rejects(sandbox.files.read('does/not/exist.txt'), FileNotFoundError)
    })

    it('refuses to read a directory', async () => {
      await sandbox.files.makeDir('a-directory')
      await assert.rejects(sandbox.files.read('a-directory'), SandboxError)
    })
  })

  describe('filesystem operations', () => {
    it('exists tells files and directories from missing paths', async () => {
      await sandbox.files.write('exists/file.txt', 'x')
      assert.equal(await sandbox.files.exists('exists/file.txt'), true)
      assert.equal(await sandbox.files.exists('exists'), true)
      assert.equal(await sandbox.files.exists('/home/user/exists/file.txt'), true)
      assert.equal(await sandbox.files.exists('exists/missing.txt'), false)
    })

    it('getInfo describes a file', async () => {
      await sandbox.files.write('info.txt', '12345')
      const info = await sandbox.files.getInfo('info.txt')
      assert.equal(info.name, 'info.txt')
      assert.equal(info.path, '/home/user/info.txt')
      assert.equal(info.type, FileType.FILE)
      assert.equal(info.size, 5)
      assert.equal(info.owner, 'user')
      assert.equal(info.group, 'user')
      assert.match(info.permissions, /^-rw/)
      assert.ok(info.modifiedTime instanceof Date && Math.abs(info.modifiedTime.getTime() - Date.now()) < 600_000)
      await assert.rejects(sandbox.files.getInfo('no-such-info.txt'), FileNotFoundError)
    })

    it('lists a directory to the requested depth', async () => {
      const root = uniqueTag('tree')
      await sandbox.files.write([
        { path: `${root}/top.txt`, data: 'top' },
        { path: `${root}/a/mid.txt`, data: 'mid' },
        { path: `${root}/a/b/deep.txt`, data: 'deep' },
      ])
      const base = `/home/user/${root}`
      const paths = (entries) => entries.map((e) => e.path).sort()

      const depth1 = await sandbox.files.list(root)
      assert.deepEqual(paths(depth1), [`${base}/a`, `${base}/top.txt`])
      assert.equal(depth1.find((e) => e.name === 'a').type, FileType.DIR)
      const top = depth1.find((e) => e.name === 'top.txt')
      assert.equal(top.type, FileType.FILE)
      assert.equal(top.size, 3)

      const depth2 = await sandbox.files.list(root, { depth: 2 })
      assert.deepEqual(paths(depth2), [`${base}/a`, `${base}/a/b`, `${base}/a/mid.txt`, `${base}/top.txt`])

      const depth3 = await sandbox.files.list(root, { depth: 3 })
      assert.deepEqual(paths(depth3), [
        `${base}/a`, `${base}/a/b`, `${base}/a/b/deep.txt`, `${base}/a/mid.txt`, `${base}/top.txt`,
      ])

      await assert.rejects(sandbox.files.list(`${root}/missing`), FileNotFoundError)
      await assert.rejects(sandbox.files.list(`${root}/top.txt`), SandboxError)
    })

    it('lists a symlink with its resolved target, typed like the target (as envd does)', async () => {
      const dir = uniqueTag('links')
      await sandbox.files.write(`${dir}/target.txt`, 'target content')
      await sandbox.files.makeDir(`${dir}/target-dir`)
      await sandbox.commands.run(`ln -s target.txt ${dir}/link.txt && ln -s target-dir ${dir}/link-dir`)
      const entries = await sandbox.files.list(dir)
      const link = entries.find((e) => e.name === 'link.txt')
      assert.equal(link.symlinkTarget, `/home/user/${dir}/target.txt`)
      assert.equal(link.type, FileType.FILE)
      const linkDir = entries.find((e) => e.name === 'link-dir')
      assert.equal(linkDir.symlinkTarget, `/home/user/${dir}/target-dir`)
      assert.equal(linkDir.type, FileType.DIR)
      assert.equal((await sandbox.files.getInfo(`${dir}/link.txt`)).symlinkTarget, `/home/user/${dir}/target.txt`)
      assert.equal(await sandbox.files.read(`${dir}/link.txt`), 'target content')
    })

    it('makeDir creates parents, and is false when the directory exists', async () => {
      const dir = `${uniqueTag('mkdir')}/nested/deeper`
      assert.equal(await sandbox.files.makeDir(dir), true)
      assert.equal((await sandbox.files.getInfo(dir)).type, FileType.DIR)
      assert.equal((await sandbox.files.getInfo(dir)).owner, 'user')
      assert.equal(await sandbox.files.makeDir(dir), false)
    })

    it('renames a file', async () => {
      const dir = uniqueTag('rename')
      await sandbox.files.write(`${dir}/old.txt`, 'moving content')
      const entry = await sandbox.files.rename(`${dir}/old.txt`, `${dir}/new.txt`)
      assert.equal(entry.path, `/home/user/${dir}/new.txt`)
      assert.equal(entry.name, 'new.txt')
      assert.equal(await sandbox.files.exists(`${dir}/old.txt`), false)
      assert.equal(await sandbox.files.read(`${dir}/new.txt`), 'moving content')
      await assert.rejects(sandbox.files.rename(`${dir}/missing.txt`, `${dir}/x.txt`), NotFoundError)
    })

    it('removes files and whole directories', async () => {
      const dir = uniqueTag('remove')
      await sandbox.files.write([
        { path: `${dir}/one.txt`, data: '1' },
        { path: `${dir}/sub/two.txt`, data: '2' },
      ])
      await sandbox.files.remove(`${dir}/one.txt`)
      assert.equal(await sandbox.files.exists(`${dir}/one.txt`), false)
      assert.equal(await sandbox.files.exists(`${dir}/sub/two.txt`), true)
      await sandbox.files.remove(dir)
      assert.equal(await sandbox.files.exists(dir), false)
    })

    it('cannot write where the default user has no permission', async () => {
      // E2B answers with an error status; which one (and so which SDK error class) is not pinned down.
      await assert.rejects(sandbox.files.write('/root/not-mine.txt', 'x'))
      assert.equal(await sandbox.files.exists('/root/not-mine.txt', { user: 'root' }), false)
    })
  })

  describe('watchDir', () => {
    it('reports writes in a watched directory', async () => {
      const dir = uniqueTag('watch')
      await sandbox.files.makeDir(dir)
      const events = []
      let notify
      const sawWrite = waitFor((resolve) => { notify = resolve }, { what: 'write event' })
      const handle = await sandbox.files.watchDir(dir, (event) => {
        events.push(event)
        if (event.name === 'watched.txt' && event.type === FilesystemEventType.WRITE) notify(event)
      })
      try {
        await sandbox.files.write(`${dir}/watched.txt`, 'changed')
        await sawWrite
        assert.ok(events.some((e) => e.name === 'watched.txt' && e.type === FilesystemEventType.CREATE),
          `a create event among ${JSON.stringify(events)}`)
      } finally {
        await handle.stop()
      }
    })

    it('reports removes, and a rename as rename of the old name plus create of the new (as inotify does)', async () => {
      const dir = uniqueTag('watch-rm')
      await sandbox.files.write(`${dir}/gone.txt`, 'x')
      await sandbox.files.write(`${dir}/moved.txt`, 'y')
      const expected = [`${FilesystemEventType.REMOVE}:gone.txt`, `${FilesystemEventType.RENAME}:moved.txt`, `${FilesystemEventType.CREATE}:renamed.txt`]
      const seen = new Set()
      let notify
      const sawAll = waitFor((resolve) => { notify = resolve }, { timeoutMs: 10_000, what: expected.join(', ') })
      const handle = await sandbox.files.watchDir(dir, (event) => {
        seen.add(`${event.type}:${event.name}`)
        if (expected.every((e) => seen.has(e))) notify()
      })
      try {
        await sandbox.files.remove(`${dir}/gone.txt`)
        await sandbox.files.rename(`${dir}/moved.txt`, `${dir}/renamed.txt`)
        await sawAll.catch((err) => assert.fail(`${err.message}; saw ${JSON.stringify([...seen])}`))
      } finally {
        await handle.stop()
      }
    })

    it('watches recursively when asked, with names relative to the watched directory', async () => {
      const dir = uniqueTag('watch-rec')
      await sandbox.files.makeDir(`${dir}/inner`)
      let notify
      const saw = waitFor((resolve) => { notify = resolve }, { what: 'nested write event' })
      const handle = await sandbox.files.watchDir(dir, (event) => {
        if (event.name === 'inner/deep.txt' && event.type === FilesystemEventType.WRITE) notify()
      }, { recursive: true })
      try {
        await sandbox.files.write(`${dir}/inner/deep.txt`, 'nested')
        await saw
      } finally {
        await handle.stop()
      }
    })

    it('fails to watch a missing directory with FileNotFoundError, and a file with SandboxError', async () => {
      await assert.rejects(sandbox.files.watchDir(uniqueTag('no-such-dir'), () => {}), FileNotFoundError)
      await sandbox.files.write('watch-a-file.txt', 'x')
      await assert.rejects(sandbox.files.watchDir('watch-a-file.txt', () => {}), SandboxError)
    })
  })
})
