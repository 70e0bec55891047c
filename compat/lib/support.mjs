// Shared by the compatibility tests: every sandbox is tagged with this run's id so that
// cleanup.mjs can kill whatever a failed or interrupted test left behind.
import assert from 'node:assert/strict'
import { it as nodeIt } from 'node:test'
import { Sandbox } from 'e2b'

export const RUN_ID = process.env.COMPAT_RUN_ID ?? `compat-local-${process.pid}`
export const TEMPLATE = process.env.COMPAT_TEMPLATE ?? 'base'

// Per test; run.sh bounds each whole file separately (node's --test-timeout applies to files too).
const TEST_TIMEOUT_MS = Number(process.env.COMPAT_TEST_TIMEOUT ?? 180_000)

/** node:test's `it` with this suite's per-test timeout, so one hung call fails one test, not the file. */
export function it(name, fn) {
  return nodeIt(name, { timeout: TEST_TIMEOUT_MS }, fn)
}

// Long enough for the slowest test, short enough that a leak dies on its own.
const DEFAULT_TIMEOUT_MS = 600_000

for (const name of ['E2B_API_KEY', 'E2B_API_URL', 'E2B_SANDBOX_URL']) {
  if (!process.env[name]) {
    throw new Error(`${name} is not set: run the suite through compat/run.sh`)
  }
}

/**
 * Creates a sandbox tagged with this run. Given a test context `t`, it is killed when that test ends;
 * without one (a sandbox shared by a describe block) the caller kills it in an `after` hook.
 */
export async function createSandbox(t, opts = {}, SandboxClass = Sandbox, template = TEMPLATE) {
  const sandbox = await SandboxClass.create(template, {
    timeoutMs: DEFAULT_TIMEOUT_MS,
    ...opts,
    metadata: { compatRun: RUN_ID, ...(opts.metadata ?? {}) },
  })
  if (t) t.after(() => killQuietly(sandbox))
  return sandbox
}

/** Kills a sandbox, ignoring that it may be gone already. */
export async function killQuietly(sandbox) {
  await sandbox?.kill().catch(() => {})
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes; returns that value. */
export async function eventually(probe, { timeoutMs = 30_000, intervalMs = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs
  let last
  while (Date.now() < deadline) {
    last = await probe()
    if (last) return last
    await sleep(intervalMs)
  }
  assert.fail(`${what} did not hold within ${timeoutMs} ms (last value: ${JSON.stringify(last)})`)
}

/** Resolves with the first value `register(resolve)` produces, or rejects after `timeoutMs`. */
export function waitFor(register, { timeoutMs = 30_000, what = 'event' } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs)
    register((value) => {
      clearTimeout(timer)
      resolve(value)
    })
  })
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A tag unique to one test, for metadata filters and file names. */
export function uniqueTag(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}
