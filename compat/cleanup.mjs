// Kills every sandbox a compatibility run created (metadata compatRun = $COMPAT_RUN_ID).
// run.sh calls it before stopping the server, because sandboxes outlive a server shutdown.
import { Sandbox } from 'e2b'

const runId = process.env.COMPAT_RUN_ID
if (!runId) throw new Error('COMPAT_RUN_ID is not set')

const paginator = Sandbox.list({ query: { metadata: { compatRun: runId } } })
// Collect first: killing while paging could shift the server's cursor and skip some.
const ids = []
while (paginator.hasNext) {
  for (const info of await paginator.nextItems()) ids.push(info.sandboxId)
}
let killed = 0
for (const id of ids) {
  if (await Sandbox.kill(id)) killed++
}
if (killed > 0) console.log(`compat cleanup: killed ${killed} sandbox(es) left by run ${runId}`)
