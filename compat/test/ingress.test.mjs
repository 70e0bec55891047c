// Ingress with the released SDK: sandbox.getHost(port) reaches a server inside the sandbox, and a sandbox created
// with network.allowPublicTraffic=false answers 403 unless the request carries its trafficAccessToken.
import assert from 'node:assert/strict'
import http from 'node:http'
import { describe } from 'node:test'
import { createSandbox, eventually, it } from '../lib/support.mjs'

const SANDBOX_URL = new URL(process.env.E2B_SANDBOX_URL)
const USER_PORT = 8010

// getHost() names {port}-{id}.{domain}; that name has no DNS here, so it resolves to the server's address, the way
// a wildcard DNS entry would (see the README's local DNS recipe). The Host header keeps the name.
function lookup(hostname, options, callback) {
  if (options?.all) callback(null, [{ address: SANDBOX_URL.hostname, family: 4 }])
  else callback(null, SANDBOX_URL.hostname, 4)
}

/** GET http://{getHost(port)}:{server port}{path}. */
function get(sandbox, path, headers = {}) {
  const url = `http://${sandbox.getHost(USER_PORT)}:${SANDBOX_URL.port}${path}`
  return new Promise((resolve, reject) => {
    http.get(url, { lookup, headers }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    }).on('error', reject)
  })
}

async function serve(sandbox) {
  await sandbox.files.write('/home/user/www/index.html', 'reached through getHost')
  const server = await sandbox.commands.run(`cd /home/user/www && exec python3 -m http.server ${USER_PORT} --bind 0.0.0.0`, {
    background: true,
    timeoutMs: 0,
  })
  await server.disconnect()
  await eventually(async () => {
    const r = await sandbox.commands.run(`curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${USER_PORT}/ || true`)
    return r.stdout === '200'
  }, { what: `http.server listening on ${USER_PORT} inside the sandbox` })
}

describe('ingress', () => {
  it('reaches a sandbox port through sandbox.getHost(port)', async (t) => {
    const sandbox = await createSandbox(t)
    await serve(sandbox)
    assert.match(sandbox.getHost(USER_PORT), new RegExp(`^${USER_PORT}-${sandbox.sandboxId}\\.`))
    const res = await get(sandbox, '/index.html')
    assert.equal(res.status, 200)
    assert.equal(res.body, 'reached through getHost')
  })

  it('requires the traffic access token when allowPublicTraffic is false', async (t) => {
    const sandbox = await createSandbox(t, { network: { allowPublicTraffic: false } })
    assert.ok(sandbox.trafficAccessToken, 'create returns a trafficAccessToken')
    await serve(sandbox) // the agent's own port stays reachable with the access token alone, as at E2B

    const without = await get(sandbox, '/index.html')
    assert.equal(without.status, 403)
    const body = JSON.parse(without.body)
    assert.equal(body.code, 403)
    assert.equal(body.sandboxId, sandbox.sandboxId)

    const wrong = await get(sandbox, '/index.html', { 'E2B-Traffic-Access-Token': 'not-the-token' })
    assert.equal(wrong.status, 403)

    const withToken = await get(sandbox, '/index.html', { 'E2B-Traffic-Access-Token': sandbox.trafficAccessToken })
    assert.equal(withToken.status, 200)
    assert.equal(withToken.body, 'reached through getHost')
  })
})
