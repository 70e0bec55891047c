// Sandbox traffic routing as E2B's edge proxy does it: by E2b-Sandbox-Id/-Port headers, by Host
// {port}-{id}.{domain}, and E2B's 502 bodies for unknown sandboxes and closed ports.
import assert from 'node:assert/strict'
import http from 'node:http'
import { after, before, describe } from 'node:test'
import { Sandbox } from 'e2b'
import { createSandbox, eventually, it, killQuietly } from '../lib/support.mjs'

const SANDBOX_URL = new URL(process.env.E2B_SANDBOX_URL)
const DOMAIN = process.env.E2B_DOMAIN
const USER_PORT = 8000

/** A plain GET to the sandbox URL with chosen headers (node:http, so Host can be set). */
function get(path, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: SANDBOX_URL.hostname, port: SANDBOX_URL.port, path, method: 'GET', headers }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('routing', () => {
  /** @type {Sandbox} */
  let sandbox
  before(async () => {
    sandbox = await createSandbox()
    await sandbox.files.write('/home/user/www/index.html', 'served from inside the sandbox')
    const server = await sandbox.commands.run(`cd /home/user/www && exec python3 -m http.server ${USER_PORT} --bind 0.0.0.0`, {
      background: true,
      timeoutMs: 0,
    })
    // The server keeps running in the sandbox; this process need not hold its output stream open.
    await server.disconnect()
    await eventually(async () => {
      const r = await sandbox.commands.run(`curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${USER_PORT}/ || true`)
      return r.stdout === '200'
    }, { what: `http.server listening on ${USER_PORT} inside the sandbox` })
  })
  after(() => killQuietly(sandbox))

  it('routes a request to any sandbox port by E2b-Sandbox-Id and E2b-Sandbox-Port', async () => {
    const res = await get('/index.html', { 'E2b-Sandbox-Id': sandbox.sandboxId, 'E2b-Sandbox-Port': String(USER_PORT) })
    assert.equal(res.status, 200)
    assert.equal(res.body, 'served from inside the sandbox')
  })

  it('routes a request by Host {port}-{sandboxId}.{domain}', async () => {
    const res = await get('/index.html', { Host: `${USER_PORT}-${sandbox.sandboxId}.${DOMAIN}` })
    assert.equal(res.status, 200)
    assert.equal(res.body, 'served from inside the sandbox')
  })

  it('answers 502 with E2B\'s body for a closed port', async () => {
    const res = await get('/', { 'E2b-Sandbox-Id': sandbox.sandboxId, 'E2b-Sandbox-Port': '8081' })
    assert.equal(res.status, 502)
    const body = JSON.parse(res.body)
    assert.equal(body.code, 502)
    assert.equal(body.sandboxId, sandbox.sandboxId)
    assert.equal(body.message, 'The sandbox is running but port is not open')
    assert.equal(Number(body.port), 8081)
  })

  it('answers 502 with E2B\'s body for an unknown sandbox', async () => {
    const res = await get('/health', { 'E2b-Sandbox-Id': 'zz0compat0unknown000', 'E2b-Sandbox-Port': '49983' })
    assert.equal(res.status, 502)
    assert.deepEqual(JSON.parse(res.body), { sandboxId: 'zz0compat0unknown000', message: 'The sandbox was not found', code: 502 })
  })

  it('refuses envd calls without the access token', async () => {
    const res = await get('/files?path=/home/user/www/index.html', {
      'E2b-Sandbox-Id': sandbox.sandboxId,
      'E2b-Sandbox-Port': '49983',
    })
    assert.equal(res.status, 401)
    assert.notEqual(res.body, 'served from inside the sandbox')
  })

  it('answers 502 for a killed sandbox on every port', async (t) => {
    const doomed = await createSandbox(t)
    assert.equal((await get('/health', { 'E2b-Sandbox-Id': doomed.sandboxId, 'E2b-Sandbox-Port': '49983' })).status, 204)
    assert.equal(await doomed.kill(), true)
    for (const port of ['49983', String(USER_PORT)]) {
      const res = await get('/health', { 'E2b-Sandbox-Id': doomed.sandboxId, 'E2b-Sandbox-Port': port })
      assert.equal(res.status, 502)
      assert.equal(JSON.parse(res.body).message, 'The sandbox was not found')
    }
  })
})
