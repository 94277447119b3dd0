// The step of action.yml: asks a Container Updater to roll a service (or every service of an image
// or a stack) with `wait: false`, then polls the update's statusUrl until it ends, instead of
// holding one request open for minutes (reverse proxies cut idle requests: nginx after 60 s).
// Fails the job unless every update completed. Plain Node (≥ 20, as on GitHub's runners), no
// dependencies. Inputs come as INPUT_* variables (action.yml maps them).
import { FINAL, StepFailure, batchStatus, fail, output, reasonOf, summarise, warnAbout } from './report.mjs'
import { poll, request, resolveStatusUrl, tokenSource } from './http.mjs'

const env = process.env
const flag = (value, fallback) => (value ?? '').trim() === '' ? fallback : value.trim().toLowerCase() === 'true'
const seconds = (name, value, fallback) => {
  if ((value ?? '').trim() === '') return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) fail(`input \`${name}\` must be a positive number of seconds, not "${value}"`)
  return n * 1000
}

function readInputs () {
  const base = (env.INPUT_URL ?? '').trim().replace(/\/+$/, '')
  if (!base) fail('input `url` is required')
  if (!/^https?:\/\/[^/]/.test(base)) fail(`input \`url\` must start with https:// (or http://), not "${base.slice(0, 100)}"`)
  const targets = { appName: env.INPUT_APP_NAME, image: env.INPUT_IMAGE, stack: env.INPUT_STACK }
  const given = Object.entries(targets).filter(([, v]) => (v ?? '').trim() !== '')
  if (given.length !== 1) fail('give exactly one of the inputs `app-name`, `image`, `stack`')
  const [[kind, value]] = given
  const tag = (env.INPUT_TAG ?? '').trim()
  if (tag && kind !== 'appName') fail('input `tag` goes only with `app-name` (an image carries its own tag; stack services keep theirs)')
  return {
    base,
    target: { [kind]: value.trim() },
    tag,
    dryRun: flag(env.INPUT_DRY_RUN, false),
    wait: flag(env.INPUT_WAIT, true),
    timeoutMs: seconds('timeout', env.INPUT_TIMEOUT, 900_000),
    intervalMs: seconds('poll-interval', env.INPUT_POLL_INTERVAL, 5_000)
  }
}

const isBatch = (body) => typeof body?.batchId === 'string' && Array.isArray(body.updates)
const batchDone = (batch) => batch.updates.every((u) => FINAL.has(u.status))
const targetLabel = (target) => Object.entries(target).map(([k, v]) => `${k} ${v}`).join('')

function dryRunReport (body) {
  console.log(JSON.stringify(body, null, 2))
  for (const p of body.plan ?? []) {
    const state = p.upToDate === true ? 'already on the newest digest' : p.upToDate === false ? 'would be updated' : 'would be updated (digest unknown)'
    console.log(`${p.service}: ${p.image} → ${p.targetImage}: ${state}`)
  }
  summarise('Container Updater: dry run', (body.plan ?? []).map((p) => ({ service: p.service, status: p.upToDate ? 'up to date' : 'would update', image: p.targetImage, message: p.registryDigest })), body.skipped)
  output('status', 'dry-run')
}

/** Reports a single service's final (or last seen) record; fails unless it completed. */
function finishRecord (record, base, { done }) {
  console.log(JSON.stringify(record, null, 2))
  output('status', record.status)
  output('update-id', record.updateId)
  output('image', record.image)
  summarise(`Container Updater: ${record.service}`, [record])
  warnAbout(record)
  if (!done) fail(`${record.service}: still ${record.status} when the step's timeout ran out; the update goes on in Swarm, see ${resolveStatusUrl(base, record.statusUrl)}`)
  if (record.status !== 'completed') fail(reasonOf(record, base))
  console.log(`${record.service}: completed (${record.image})`)
}

/** Reports a batch; fails unless every update in it completed. */
function finishBatch (batch, base, { done }) {
  console.log(JSON.stringify(batch, null, 2))
  const status = batchStatus(batch.updates)
  output('status', status)
  output('batch-id', batch.batchId)
  summarise(`Container Updater: ${targetLabel(batch.target ?? {})}`, batch.updates, batch.skipped)
  for (const s of batch.skipped ?? []) console.log(`::notice::${s.service}: skipped: ${s.reason}`)
  batch.updates.forEach(warnAbout)
  const failed = batch.updates.filter((u) => u.status !== 'completed')
  if (!done) fail(`${failed.map((u) => `${u.service} (${u.status})`).join(', ')}: not finished when the step's timeout ran out; see ${resolveStatusUrl(base, batch.statusUrl)}`)
  if (failed.length > 0) fail(failed.map((u) => reasonOf(u, base)).join('; '))
  console.log(`${batch.updates.length} service(s) completed: ${batch.updates.map((u) => u.service).join(', ')}`)
}

/** What to check after a refusal that the updater's message alone does not explain to a CI user. */
function hintFor (status, oidc) {
  if (status === 401) return oidc ? ' (check that `audience` is the updater\'s OIDC_AUDIENCE and its OIDC_ISSUER is GitHub\'s)' : ' (check `token`: minted with the updater\'s JWT_SECRET and not expired)'
  if (status === 403) return ' (the token is valid but may not update this target: its `services` claim or the OIDC policy)'
  return ''
}

async function main () {
  const started = Date.now()
  const inputs = readInputs()
  const { base } = inputs
  if (env.INPUT_TOKEN) console.log(`::add-mask::${env.INPUT_TOKEN}`)
  const tokens = tokenSource({ token: env.INPUT_TOKEN, audience: env.INPUT_AUDIENCE })
  const deadline = started + inputs.timeoutMs

  const body = { ...inputs.target, ...(inputs.tag && { tag: inputs.tag }), ...(inputs.dryRun ? { dryRun: true } : { wait: false }) }
  // The token first: its mistakes (none given, no `id-token: write`) are told as such, not as
  // a network failure.
  const token = await tokens.get()
  let res
  try {
    res = await request(`${base}/update`, { method: 'POST', token, body, timeoutMs: deadline - Date.now() })
  } catch (error) {
    fail(`cannot reach ${base}: ${error.cause?.code ?? error.name ?? error.message}`)
  }
  const answer = res.body
  if (answer === undefined) fail(`${res.status} from the updater: ${res.text.slice(0, 500)}`)

  if (inputs.dryRun) {
    if (res.status !== 200) fail(`${res.status} ${answer.error ?? ''}: ${answer.message ?? res.text}`)
    return dryRunReport(answer)
  }
  const accepted = res.status === 202 || res.status === 200 || res.status === 409 || res.status === 504
  if (!accepted || typeof answer.statusUrl !== 'string') {
    if (Array.isArray(answer.skipped)) for (const s of answer.skipped) console.log(`::notice::${s.service}: skipped: ${s.reason}`)
    fail(`${res.status} ${answer.error ?? ''}: ${answer.message ?? res.text}${hintFor(res.status, tokens.oidc)}`)
  }

  const batch = isBatch(answer)
  const isDone = batch ? batchDone : (record) => FINAL.has(record.status)
  const finish = batch ? finishBatch : finishRecord
  if (!inputs.wait) {
    console.log(JSON.stringify(answer, null, 2))
    output('status', batch ? batchStatus(answer.updates) : answer.status)
    output(batch ? 'batch-id' : 'update-id', batch ? answer.batchId : answer.updateId)
    if (!batch) output('image', answer.image)
    console.log(`accepted: ${resolveStatusUrl(base, answer.statusUrl)} tells the end`)
    return
  }
  if (isDone(answer)) return finish(answer, base, { done: true })

  const url = resolveStatusUrl(base, answer.statusUrl)
  console.log(`accepted; polling ${url} every ${inputs.intervalMs / 1000} s`)
  let lastStatus = batch ? batchStatus(answer.updates) : answer.status
  const { body: last, done } = await poll(url, {
    tokens,
    intervalMs: inputs.intervalMs,
    deadline,
    isDone: (body) => isBatch(body) === batch && isDone(body),
    onProgress: (body) => {
      const status = batch ? (Array.isArray(body.updates) ? batchStatus(body.updates) : body.status) : body.status
      if (status !== lastStatus) console.log(`${batch ? `batch ${answer.batchId}` : answer.service}: ${status}`)
      lastStatus = status
    }
  })
  finish(last !== undefined && isBatch(last) === batch ? last : answer, base, { done })
}

try {
  await main()
} catch (error) {
  console.log(`::error::${error instanceof StepFailure ? error.message : `unexpected: ${error.stack ?? error}`}`)
  process.exitCode = 1
}
