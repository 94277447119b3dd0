import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { Type, type Static } from '@sinclair/typebox'
import { envSchema } from 'env-schema'
import { loadPolicy, type OidcPolicy } from './auth/policy.js'
import { parseWindows } from './engine/gates/windows.js'
import { parseRegistryAliases, parsePushLabel, type RegistryAliases } from './hooks/events.js'
import { NotifyConfigError, parseNotifyOn, parseNotifyUrls, type NotifyState, type NotifyTarget } from './notify/targets.js'

/**
 * The one description of the service's configuration (docs/API.md §4). The config type is derived
 * from this schema, so the two cannot drift.
 */
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
type LogLevel = typeof logLevels[number]

export const EnvSchema = Type.Object({
  JWT_SECRET: Type.Optional(Type.String({ description: 'HS256 secret, at least 32 bytes' })),
  JWT_SECRET_FILE: Type.Optional(Type.String({ description: 'file holding the secret (Docker secrets)' })),
  JWT_SECRET_PREVIOUS: Type.Optional(Type.String({ description: 'the secret being rotated out: still accepted, never used to sign' })),
  JWT_SECRET_PREVIOUS_FILE: Type.Optional(Type.String()),
  JWT_MAX_LIFETIME: Type.Optional(Type.Integer({ minimum: 1, description: 'seconds: tokens whose exp lies further from iat (or now) are refused' })),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  JWT_REQUIRE_SCOPE: Type.Boolean({ default: false, description: 'reject tokens without a services claim' }),
  JWT_CLOCK_TOLERANCE: Type.Integer({ default: 5, minimum: 0, maximum: 300, description: 'seconds of leeway for exp/nbf/iat' }),
  UPDATE_WINDOWS: Type.Optional(Type.String({ description: 'when explicit and automatic updates may start: comma-separated DAYS HH:MM-HH:MM [IANA zone], e.g. Mon-Fri 22:00-06:00 Europe/Berlin; unset: always' })),
  UPDATE_REQUIRE_LABEL: Type.Optional(Type.String({ pattern: '^[^=\\s]+(=[^\\s]*)?$', description: 'only services with this label (key or key=value) may be updated' })),
  OIDC_ISSUER: Type.Optional(Type.String({ description: 'accept RS256/ES256 tokens from this identity provider, e.g. https://token.actions.githubusercontent.com' })),
  OIDC_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  OIDC_JWKS_PATH: Type.String({ default: '/.well-known/jwks', description: "the JWKS path under the issuer (GitHub's by default)" }),
  OIDC_POLICY_FILE: Type.Optional(Type.String({ description: 'JSON rules mapping token claims to the services they may update' })),
  OIDC_JWKS_TIMEOUT: Type.Integer({ default: 5000, minimum: 100, description: 'milliseconds for one JWKS fetch' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  HOST: Type.String({ default: '0.0.0.0' }),
  LOG_LEVEL: Type.Unsafe<LogLevel>({ type: 'string', enum: logLevels, default: 'info' }),
  UPDATE_TIMEOUT: Type.Integer({ default: 600, minimum: 1, description: 'seconds to wait for convergence before 504' }),
  DOCKER_HOST: Type.Optional(Type.String()),
  DOCKER_BIN: Type.String({ default: 'docker', description: 'the Docker CLI to run' }),
  DOCKER_COMMAND_TIMEOUT: Type.Integer({ default: 60, minimum: 1, description: 'seconds before a Docker CLI call is killed' }),
  DOCKER_SPAWN_HELPER: Type.Boolean({ default: true, description: 'start Docker CLI calls from a small helper process (~8 MB of its own), so that process starts do not hold the HTTP event loop; false starts them in the updater' }),
  MAX_CONCURRENT_UPDATES: Type.Integer({ default: 8, minimum: 1, description: 'Docker updates running at once across services' }),
  UPDATE_HISTORY: Type.Integer({ default: 1000, minimum: 1, description: 'update records kept for GET /updates/:id' }),
  AUTH_FAILURE_LIMIT: Type.Integer({ default: 30, minimum: 1, description: 'failed authentications per client address and window before 429' }),
  AUTH_FAILURE_WINDOW: Type.Integer({ default: 60, minimum: 1, description: 'seconds' }),
  TRUST_PROXY: Type.String({ default: 'false', description: 'X-Forwarded-For: false, true (every hop), a hop count, or proxy addresses/CIDRs (comma-separated)' }),
  SHUTDOWN_GRACE: Type.Integer({ default: 60, minimum: 1, description: 'seconds in-flight requests get on SIGTERM' }),
  POLL_INTERVAL_MS: Type.Integer({ default: 500, minimum: 10, description: 'how often a running update is read while the events stream is down' }),
  DATA_DIR: Type.String({ default: './data', description: 'where the SQLite database of update records lives (a volume in the stack file)' }),
  HISTORY_DAYS: Type.Integer({ default: 90, minimum: 1, description: 'records older than this many days are deleted' }),
  EVENTS_STREAM: Type.Boolean({ default: true, description: 'watch updates through one `docker events` stream (polling only while it is down)' }),
  NOTIFY_URLS: Type.Optional(Type.String({ description: 'space-separated FORMAT+URL webhooks; FORMAT json, slack or discord' })),
  NOTIFY_URLS_FILE: Type.Optional(Type.String({ description: 'file holding NOTIFY_URLS (webhook URLs are secrets)' })),
  NOTIFY_SECRET: Type.Optional(Type.String({ description: 'HMAC-SHA256 key for X-Container-Updater-Signature on json notifications' })),
  NOTIFY_SECRET_FILE: Type.Optional(Type.String()),
  NOTIFY_ON: Type.Optional(Type.String({ description: 'comma-separated states to notify; default all final states and timeout' })),
  NOTIFY_TIMEOUT: Type.Integer({ default: 5000, minimum: 100, description: 'milliseconds per delivery attempt' }),
  NOTIFY_RETRIES: Type.Integer({ default: 3, minimum: 0, maximum: 10, description: 'retries after the first attempt' }),
  GITHUB_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16, description: 'secret of the GitHub package webhook; enables POST /hooks/github' })),
  DOCKERHUB_WEBHOOK_TOKEN: Type.Optional(Type.String({ minLength: 32, pattern: '^[A-Za-z0-9_-]+$', description: 'URL token of the Docker Hub webhook; enables POST /hooks/dockerhub/<token>' })),
  HOOK_REGISTRY_ALIASES: Type.Optional(Type.String({ description: 'registry hosts that are one registry, e.g. localhost:5000=127.0.0.1:5000' })),
  PUSH_LABEL: Type.String({ default: 'container-updater.on-push=true', description: 'the label (key or key=value) a service needs to be updated by registry pushes' }),
  SELF_SERVICE: Type.Optional(Type.String({ minLength: 1, description: "the updater's own service (name or ID; the stack file sets it from {{.Service.ID}}): updating it is answered 202 at once" }))
})

export type Env = Static<typeof EnvSchema>
export type Config = Omit<Env, 'JWT_SECRET' | 'JWT_SECRET_FILE' | 'JWT_SECRET_PREVIOUS' | 'JWT_SECRET_PREVIOUS_FILE' | 'OIDC_POLICY_FILE' | 'TRUST_PROXY' |
'NOTIFY_URLS' | 'NOTIFY_URLS_FILE' | 'NOTIFY_SECRET' | 'NOTIFY_SECRET_FILE' | 'NOTIFY_ON' | 'HOOK_REGISTRY_ALIASES' | 'PUSH_LABEL'> & {
  JWT_SECRET: string
  /** Fastify's trustProxy: which hops of X-Forwarded-For are proxies of ours */
  TRUST_PROXY: boolean | number | string[]
  /** still accepted while clients move to JWT_SECRET */
  JWT_SECRET_PREVIOUS?: string
  /** the parsed OIDC_POLICY_FILE, when OIDC is configured */
  oidcPolicy?: OidcPolicy
  /** parsed NOTIFY_URLS / NOTIFY_ON (the raw URLs are secrets and never kept) */
  notifyTargets: NotifyTarget[]
  notifyOn: ReadonlySet<NotifyState>
  notifySecret?: string
  registryAliases: RegistryAliases
  pushLabel: { key: string, value: string | undefined }
}

export const MIN_SECRET_BYTES = 32

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Validates the environment once; throws a ConfigError whose message is one line for operators. */
export function loadConfig (source: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings are how `-e VAR=` unsets a variable: treat them as absent.
  const data = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''))
  let env: Env
  try {
    env = envSchema<Env>({ schema: EnvSchema, data, dotenv: false })
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${(error as Error).message}`)
  }
  const {
    JWT_SECRET_FILE, JWT_SECRET: inline, JWT_SECRET_PREVIOUS_FILE, JWT_SECRET_PREVIOUS: previousInline, OIDC_POLICY_FILE,
    NOTIFY_URLS, NOTIFY_URLS_FILE, NOTIFY_SECRET, NOTIFY_SECRET_FILE, NOTIFY_ON, HOOK_REGISTRY_ALIASES, PUSH_LABEL, ...rest
  } = env
  const secret = readSecret('JWT_SECRET', inline, JWT_SECRET_FILE)
  if (secret === undefined) throw new ConfigError('JWT_SECRET (or JWT_SECRET_FILE) is required')
  const previous = readSecret('JWT_SECRET_PREVIOUS', previousInline, JWT_SECRET_PREVIOUS_FILE)
  const notifySecret = readSecret('NOTIFY_SECRET', NOTIFY_SECRET, NOTIFY_SECRET_FILE, 16)
  let notifications: Pick<Config, 'notifyTargets' | 'notifyOn'>
  let hooks: Pick<Config, 'registryAliases' | 'pushLabel'>
  try {
    notifications = { notifyTargets: parseNotifyUrls(readSecret('NOTIFY_URLS', NOTIFY_URLS, NOTIFY_URLS_FILE, 0)), notifyOn: parseNotifyOn(NOTIFY_ON) }
    hooks = { registryAliases: parseRegistryAliases(HOOK_REGISTRY_ALIASES), pushLabel: parsePushLabel(PUSH_LABEL) }
  } catch (error) {
    if (error instanceof NotifyConfigError || error instanceof TypeError) throw new ConfigError(error.message)
    throw error
  }
  const config: Config = {
    ...rest,
    ...notifications,
    ...hooks,
    JWT_SECRET: secret,
    TRUST_PROXY: parseTrustProxy(rest.TRUST_PROXY),
    ...(previous !== undefined && { JWT_SECRET_PREVIOUS: previous }),
    ...(notifySecret !== undefined && { notifySecret })
  }

  if (rest.UPDATE_WINDOWS !== undefined) {
    try {
      parseWindows(rest.UPDATE_WINDOWS)
    } catch (error) {
      throw new ConfigError(`UPDATE_WINDOWS: ${(error as Error).message}`)
    }
  }
  if (rest.OIDC_ISSUER !== undefined) {
    checkIssuerUrl(rest.OIDC_ISSUER)
    if (rest.OIDC_AUDIENCE === undefined) throw new ConfigError('OIDC_AUDIENCE is required with OIDC_ISSUER')
    if (OIDC_POLICY_FILE === undefined) throw new ConfigError('OIDC_POLICY_FILE is required with OIDC_ISSUER')
    try {
      config.oidcPolicy = loadPolicy(OIDC_POLICY_FILE)
    } catch (error) {
      throw new ConfigError(`OIDC_POLICY_FILE ${OIDC_POLICY_FILE}: ${(error as Error).message}`)
    }
  } else if (rest.OIDC_AUDIENCE !== undefined || OIDC_POLICY_FILE !== undefined) {
    throw new ConfigError('OIDC_AUDIENCE and OIDC_POLICY_FILE need OIDC_ISSUER')
  }
  return config
}

/** A secret from NAME or NAME_FILE (not both), at least `minBytes` long. */
function readSecret (name: string, inline: string | undefined, file: string | undefined, minBytes = MIN_SECRET_BYTES): string | undefined {
  let secret = inline
  if (file !== undefined) {
    if (inline !== undefined) throw new ConfigError(`set ${name} or ${name}_FILE, not both`)
    try {
      // Secret files usually end with a newline that is not part of the secret.
      secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '')
    } catch (error) {
      throw new ConfigError(`${name}_FILE ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
  if (secret === undefined) return undefined
  const bytes = Buffer.byteLength(secret)
  if (bytes < minBytes) {
    throw new ConfigError(`${file !== undefined ? `${name}_FILE` : name} must hold at least ${minBytes} bytes (got ${bytes})`)
  }
  return secret
}

const proxyNames = new Set(['loopback', 'linklocal', 'uniquelocal'])

/**
 * What Fastify's trustProxy accepts: true trusts every hop (the client can then pick its own
 * address by writing X-Forwarded-For), a number trusts that many hops from the socket, and a list
 * trusts the proxies at those addresses or in those CIDRs (or proxy-addr's loopback, linklocal,
 * uniquelocal).
 */
export function parseTrustProxy (value: string): boolean | number | string[] {
  const text = value.trim()
  if (text === 'false') return false
  if (text === 'true') return true
  if (/^\d+$/.test(text)) return Number(text)
  const entries = text.split(',').map((entry) => entry.trim())
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/')
    const family = isIP(address)
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32))
    if (!(proxyNames.has(entry) || (family !== 0 && prefixOk && extra === undefined))) {
      throw new ConfigError(`TRUST_PROXY must be true, false, a hop count or comma-separated addresses/CIDRs (got ${JSON.stringify(entry)})`)
    }
  }
  return entries
}

/** Keys are fetched from the issuer: only over HTTPS, or plain HTTP on the loopback (tests). */
function checkIssuerUrl (issuer: string): void {
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    throw new ConfigError(`OIDC_ISSUER ${JSON.stringify(issuer)} is not a URL`)
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError('OIDC_ISSUER must be an https:// URL')
  }
}
