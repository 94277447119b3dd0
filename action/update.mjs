// The step of action.yml: asks a Container Updater to roll a service, prints the update record, and
// fails the job unless the update completed (or, with wait: false, was accepted). Plain Node (≥ 20,
// as on GitHub's runners), no dependencies.
import { appendFileSync } from 'node:fs'

const env = process.env
const fail = (message) => {
  console.log(`::error::${message}`)
  process.exit(1)
}

async function idToken (audience) {
  const { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken } = env
  if (!url || !requestToken) fail('no OIDC token available: give the job `permissions: id-token: write`, or pass `token`')
  const res = await fetch(`${url}&audience=${encodeURIComponent(audience)}`, { headers: { authorization: `Bearer ${requestToken}` } })
  if (!res.ok) fail(`the OIDC token request failed with ${res.status}`)
  const { value } = await res.json()
  if (typeof value !== 'string' || value === '') fail('the OIDC token response has no token')
  return value
}

function output (name, value) {
  if (env.GITHUB_OUTPUT && value !== undefined && value !== null) appendFileSync(env.GITHUB_OUTPUT, `${name}=${value}\n`)
}

const base = (env.INPUT_URL ?? '').replace(/\/+$/, '')
const appName = env.INPUT_APP_NAME ?? ''
if (!base) fail('input `url` is required')
if (!appName) fail('input `app-name` is required')
const wait = (env.INPUT_WAIT ?? 'true').toLowerCase() !== 'false'

const token = env.INPUT_TOKEN || (env.INPUT_AUDIENCE ? await idToken(env.INPUT_AUDIENCE) : '')
if (!token) fail('pass `token`, or `audience` to use an OIDC token')
console.log(`::add-mask::${token}`)

const body = { appName, wait, ...(env.INPUT_TAG ? { tag: env.INPUT_TAG } : {}) }
let res
try {
  res = await fetch(`${base}/update`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
} catch (error) {
  fail(`cannot reach ${base}: ${error.cause?.code ?? error.message}`)
}
const text = await res.text()
let record
try {
  record = JSON.parse(text)
} catch {
  fail(`${res.status} from the updater: ${text.slice(0, 500)}`)
}
console.log(JSON.stringify(record, null, 2))
output('status', record.status)
output('update-id', record.updateId)
output('image', record.image)

if (res.status === 200 || (res.status === 202 && !wait)) {
  console.log(`${record.service}: ${record.status} (${record.image ?? 'image pending'})`)
  process.exit(0)
}
if (res.status === 409) fail(`${record.service}: ${record.status} by Swarm: ${record.message ?? 'no reason given'}`)
if (res.status === 504) fail(`${record.service}: not converged in time; the update goes on, see ${base}${record.statusUrl}`)
fail(`${res.status} ${record.error ?? ''}: ${record.message ?? text}`)
