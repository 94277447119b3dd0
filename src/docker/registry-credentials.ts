import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'

/**
 * The updater's own credentials for one registry, read the way the Docker CLI reads its config.json:
 * a `credHelpers` entry for the host wins, then `credsStore` (a native store holds every registry),
 * then the `auths` entry (`auth` = base64 `user:pass`, or `username`/`password`, or `identitytoken`).
 * Nothing here is ever logged or put into a returned message: callers get fixed sentences only.
 */
export type RegistryCredentials =
  | { kind: 'none' }
  | { kind: 'basic', username: string, password: string }
  /** An OAuth2 refresh token (`docker login` with an identity provider): exchanged at the token realm. */
  | { kind: 'identity-token', username: string, token: string }
  | { kind: 'unavailable', reason: string }

interface AuthEntry { auth?: unknown, username?: unknown, password?: unknown, identitytoken?: unknown }
interface DockerConfigFile {
  auths?: Record<string, AuthEntry>
  credHelpers?: Record<string, string>
  credsStore?: string
}

/** The server address the CLI stores Docker Hub credentials under (helpers are asked with it). */
const dockerHubServerAddress = 'https://index.docker.io/v1/'
const helperOutputLimit = 64 * 1024

/** A config.json key as a registry host: the CLI's ConvertToHostname, with Docker Hub's aliases folded. */
function keyHost (key: string): string {
  const host = key.replace(/^https?:\/\//i, '').split('/')[0]!.toLowerCase()
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host
}

function findKey<T> (entries: Record<string, T> | undefined, registry: string): T | undefined {
  if (entries === undefined || typeof entries !== 'object') return undefined
  const key = Object.keys(entries).find((candidate) => keyHost(candidate) === registry)
  return key === undefined ? undefined : entries[key]
}

function fromAuthEntry (entry: AuthEntry): RegistryCredentials {
  let username = typeof entry.username === 'string' ? entry.username : ''
  let password = typeof entry.password === 'string' ? entry.password : ''
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon === -1) return { kind: 'unavailable', reason: 'the Docker config holds a malformed auth entry for this registry' }
    username = decoded.slice(0, colon)
    password = decoded.slice(colon + 1)
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return { kind: 'identity-token', username, token: entry.identitytoken }
  }
  if (username === '' && password === '') return { kind: 'none' }
  return { kind: 'basic', username, password }
}

/**
 * Runs `docker-credential-<helper> get` with the server address on stdin, as the CLI does. The
 * helper's own error text is never passed on (it is not ours to show); "credentials not found" is
 * the helpers' documented answer for a registry they hold nothing for.
 */
function fromHelper (helper: string, serverAddress: string, signal: AbortSignal): Promise<RegistryCredentials> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) {
    return Promise.resolve({ kind: 'unavailable', reason: 'the Docker config names an invalid credential helper' })
  }
  const program = `docker-credential-${helper}`
  return new Promise((resolve) => {
    const child = execFile(program, ['get'], { signal, maxBuffer: helperOutputLimit, encoding: 'utf8' }, (error, stdout) => {
      if (error !== null) {
        if (/credentials not found/i.test(stdout)) return resolve({ kind: 'none' })
        const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not installed' : 'failed'
        return resolve({ kind: 'unavailable', reason: `credentials in a credential helper: ${program} ${why}` })
      }
      try {
        const answer = JSON.parse(stdout) as { Username?: unknown, Secret?: unknown }
        const username = typeof answer.Username === 'string' ? answer.Username : ''
        const secret = typeof answer.Secret === 'string' ? answer.Secret : ''
        if (secret === '') return resolve({ kind: 'none' })
        // The helpers' convention for an identity token: the user name `<token>`.
        resolve(username === '<token>' ? { kind: 'identity-token', username: '', token: secret } : { kind: 'basic', username, password: secret })
      } catch {
        resolve({ kind: 'unavailable', reason: `credentials in a credential helper: ${program} gave an unreadable answer` })
      }
    })
    child.stdin?.on('error', () => {}) // a helper that exits without reading stdin: the callback reports it
    child.stdin?.end(serverAddress)
  })
}

/** Credentials for `registry` (normalised host, `docker.io` for Docker Hub) from the config at `configPath`. */
export async function registryCredentials (configPath: string, registry: string, signal: AbortSignal): Promise<RegistryCredentials> {
  let config: DockerConfigFile
  try {
    config = JSON.parse(await readFile(configPath, 'utf8')) as DockerConfigFile
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' }
    return { kind: 'unavailable', reason: 'the updater\'s Docker config.json cannot be read' }
  }
  if (config === null || typeof config !== 'object') return { kind: 'unavailable', reason: 'the updater\'s Docker config.json is not an object' }
  const serverAddress = registry === 'docker.io' ? dockerHubServerAddress : registry
  const helper = findKey(config.credHelpers, registry)
  if (typeof helper === 'string' && helper !== '') return fromHelper(helper, serverAddress, signal)
  if (typeof config.credsStore === 'string' && config.credsStore !== '') return fromHelper(config.credsStore, serverAddress, signal)
  const entry = findKey(config.auths, registry)
  return entry !== undefined && entry !== null && typeof entry === 'object' ? fromAuthEntry(entry) : { kind: 'none' }
}
