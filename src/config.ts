import { isIP } from 'node:net'
import { Type, type Static } from '@sinclair/typebox'
import { envSchema } from 'env-schema'
import { loadPolicy, type OidcPolicy } from './auth/policy.js'
import { parseWindows } from './engine/gates/windows.js'
import { parseRegistryAliases, type RegistryAliases } from './docker/image-match.js'
import { parseLabelSelector, type LabelSelector } from './docker/labels.js'
import { ConfigError, describeEnvError, type EnvError } from './config-errors.js'
import { readHookSecrets } from './config-hooks.js'
import { readSecret } from './config-secrets.js'
import { NotifyConfigError, parseNotifyOn, parseNotifyUrls, type NotifyEvent, type NotifyTarget } from './notify/targets.js'

/**
 * The one description of the service's configuration (docs/API.md §4). The config type is derived
 * from this schema, so the two cannot drift.
 */
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
type LogLevel = typeof logLevels[number]

export const EnvSchema = Type.Object({
  JWT_SECRET: Type.Optional(Type.String({ description: 'HS256 secret, at least 32 bytes; required unless `JWT_SECRET_FILE` is set' })),
  JWT_SECRET_FILE: Type.Optional(Type.String({ description: 'file holding `JWT_SECRET` (Docker secrets), without its trailing newline; must be readable by the process (uid 1000 in the image)' })),
  JWT_SECRET_PREVIOUS: Type.Optional(Type.String({ description: 'the secret being rotated out: still accepted, never used to sign' })),
  JWT_SECRET_PREVIOUS_FILE: Type.Optional(Type.String({ description: 'file holding `JWT_SECRET_PREVIOUS`' })),
  JWT_MAX_LIFETIME: Type.Optional(Type.Integer({ minimum: 1, description: 'seconds: tokens whose `exp` lies further than this from `iat` (or now) are refused' })),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1, description: 'when set, tokens must carry this `iss`' })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1, description: 'when set, tokens must carry this `aud`' })),
  JWT_REQUIRE_SCOPE: Type.Boolean({ default: false, description: '`true`: tokens without a `services` claim are refused (403)' }),
  JWT_CLOCK_TOLERANCE: Type.Integer({ default: 5, minimum: 0, maximum: 300, description: 'seconds of leeway for `exp`, `nbf`, `iat`' }),
  UPDATE_WINDOWS: Type.Optional(Type.String({ description: 'when explicit and automatic updates may start: comma-separated `DAYS HH:MM-HH:MM [IANA zone]`, e.g. `Mon-Fri 22:00-06:00 Europe/Berlin`; the label `container-updater.window` replaces it per service; unset: always open' })),
  UPDATE_REQUIRE_LABEL: Type.Optional(Type.String({ pattern: '^[^=\\s]+(=[^\\s]*)?$', description: 'e.g. `container-updater.enable=true`: only services with this label (`key=value`, or `key` for any value) may be updated; others get 403' })),
  OIDC_ISSUER: Type.Optional(Type.String({ description: 'accept RS256/ES256 tokens of this identity provider, e.g. `https://token.actions.githubusercontent.com`' })),
  OIDC_AUDIENCE: Type.Optional(Type.String({ minLength: 1, description: 'the `aud` OIDC tokens must carry; required with `OIDC_ISSUER`' })),
  OIDC_JWKS_PATH: Type.String({ default: '/.well-known/jwks', description: 'where the provider\'s keys are, under the issuer' }),
  OIDC_POLICY_FILE: Type.Optional(Type.String({ description: 'JSON rules mapping token claims to the services they may update; required with `OIDC_ISSUER`' })),
  OIDC_JWKS_TIMEOUT: Type.Integer({ default: 5000, minimum: 100, description: 'milliseconds for one JWKS fetch' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535, description: 'listen port' }),
  HOST: Type.String({ default: '0.0.0.0', description: 'listen address' }),
  LOG_LEVEL: Type.Unsafe<LogLevel>({ type: 'string', enum: logLevels, default: 'info', description: 'pino level; JSON logs, pretty only on a TTY' }),
  UPDATE_TIMEOUT: Type.Integer({ default: 600, minimum: 1, description: 'seconds a waited request may take, from its arrival, before the answer is 504 (the update goes on)' }),
  DOCKER_HOST: Type.Optional(Type.String({ description: 'passed to the Docker CLI (e.g. a socket proxy `tcp://proxy:2375`)' })),
  DOCKER_BIN: Type.String({ default: 'docker', description: 'the Docker CLI to run' }),
  DOCKER_COMMAND_TIMEOUT: Type.Integer({ default: 60, minimum: 1, description: 'seconds before one Docker CLI call is killed' }),
  DOCKER_SPAWN_HELPER: Type.Boolean({ default: true, description: 'start Docker CLI calls from a small helper process (~8 MB of its own), so that process starts do not hold the HTTP event loop; `false` starts them in the updater' }),
  MAX_CONCURRENT_UPDATES: Type.Integer({ default: 8, minimum: 1, description: 'Docker updates running at once across services' }),
  UPDATE_HISTORY: Type.Integer({ default: 1000, minimum: 1, description: 'records kept when `DATA_DIR=:memory:` (no database)' }),
  AUTH_FAILURE_LIMIT: Type.Integer({ default: 30, minimum: 1, description: 'failed authentications per client address (IPv6: per /64) per window before 429; a webhook\'s wrong signature or URL token counts like a bad token' }),
  AUTH_FAILURE_WINDOW: Type.Integer({ default: 60, minimum: 1, description: 'seconds of one failed-authentication window' }),
  TRUST_PROXY: Type.String({ default: 'false', description: 'take the client address from `X-Forwarded-For`: `true` (every hop; only behind your own proxy), a hop count, or a comma-separated list of proxy addresses/CIDRs' }),
  SHUTDOWN_GRACE: Type.Integer({ default: 60, minimum: 1, description: 'seconds in-flight requests get after SIGTERM (set the Swarm `stop_grace_period` above it)' }),
  POLL_INTERVAL_MS: Type.Integer({ default: 500, minimum: 10, description: 'milliseconds between reads of a running update\'s `UpdateStatus` while the events stream is down (and while tasks converge)' }),
  DATA_DIR: Type.String({ default: './data', description: 'where the SQLite database of update records lives (a local volume in a stack; `:memory:` keeps none)' }),
  HISTORY_DAYS: Type.Integer({ default: 90, minimum: 1, description: 'days a finished update record is kept' }),
  EVENTS_STREAM: Type.Boolean({ default: true, description: 'follow updates through one `docker events` stream (answers arrive as Swarm finishes, not at the next poll); `false` polls only' }),
  NOTIFY_URLS: Type.Optional(Type.String({ description: 'space-separated `FORMAT+URL` notification targets, FORMAT `json`, `slack` or `discord`' })),
  NOTIFY_URLS_FILE: Type.Optional(Type.String({ description: 'file holding `NOTIFY_URLS` (Docker secrets: webhook URLs carry their credential)' })),
  NOTIFY_SECRET: Type.Optional(Type.String({ description: 'signs `json` notifications (`X-Container-Updater-Signature: sha256=…`), at least 16 bytes' })),
  NOTIFY_SECRET_FILE: Type.Optional(Type.String({ description: 'file holding `NOTIFY_SECRET`' })),
  NOTIFY_ON: Type.Optional(Type.String({ description: 'comma-separated states and events to notify, e.g. `rolled_back,paused,failed,timeout,pending_approval,frozen,quarantined`; unset: all (final states, `timeout`, `held`, `pending_approval`, `frozen`, `unfrozen`, and the watcher\'s `available`, `quarantined`)' })),
  NOTIFY_TIMEOUT: Type.Integer({ default: 5000, minimum: 100, description: 'milliseconds per delivery attempt' }),
  NOTIFY_RETRIES: Type.Integer({ default: 3, minimum: 0, maximum: 10, description: 'retries after the first attempt, with backoff' }),
  GITHUB_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16, description: 'secret of GitHub\'s package webhooks (at least 16 characters); enables `POST /hooks/github`' })),
  GITHUB_WEBHOOK_SECRET_FILE: Type.Optional(Type.String({ description: 'file holding `GITHUB_WEBHOOK_SECRET`' })),
  DOCKERHUB_WEBHOOK_TOKEN: Type.Optional(Type.String({ minLength: 32, pattern: '^[A-Za-z0-9_-]+$', description: 'long random token (at least 32 characters of `A-Za-z0-9_-`) in Docker Hub\'s webhook URL; enables `POST /hooks/dockerhub/<token>`' })),
  DOCKERHUB_WEBHOOK_TOKEN_FILE: Type.Optional(Type.String({ description: 'file holding `DOCKERHUB_WEBHOOK_TOKEN`' })),
  GITHUB_REGISTRY_HOST: Type.String({ default: 'ghcr.io', pattern: '^[A-Za-z0-9.-]+(:[0-9]{1,5})?$', description: 'the registry `POST /hooks/github` acts for: `ghcr.io`, or a GitHub Enterprise Server\'s container registry host; a delivery naming another registry is ignored (`foreign-registry`)' }),
  GITEA_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16, description: 'secret of Gitea\'s or Forgejo\'s package webhooks (at least 16 characters); enables `POST /hooks/gitea`' })),
  GITEA_WEBHOOK_SECRET_FILE: Type.Optional(Type.String({ description: 'file holding `GITEA_WEBHOOK_SECRET`' })),
  QUAY_WEBHOOK_TOKEN: Type.Optional(Type.String({ minLength: 32, pattern: '^[A-Za-z0-9_-]+$', description: 'long random token (at least 32 characters of `A-Za-z0-9_-`) in Quay\'s webhook URL; enables `POST /hooks/quay/<token>`' })),
  QUAY_WEBHOOK_TOKEN_FILE: Type.Optional(Type.String({ description: 'file holding `QUAY_WEBHOOK_TOKEN`' })),
  HOOK_REGISTRY_ALIASES: Type.Optional(Type.String({ description: 'registry names that are one registry, e.g. `localhost:5000=127.0.0.1:5000,registry.lan=10.0.0.5:5000`' })),
  PUSH_LABEL: Type.String({ default: 'container-updater.on-push=true', description: 'the label (`key=value`, or `key` for any value) a service needs for registry push events to update it' }),
  WATCH: Type.Boolean({ default: true, description: 'watch registries for services labelled `container-updater.watch` (nothing is watched without the label)' }),
  WATCH_INTERVAL: Type.String({ default: '1h', pattern: '^\\d{1,9}[smhd]$', description: 'how often a watched service is checked unless its schedule label says otherwise (`90s`, `15m`, `6h`, `1d`; 1m to 7d), and the longest registry backoff' }),
  WATCH_TIMEOUT: Type.String({ default: '10s', pattern: '^\\d{1,9}[smhd]$', description: 'bound on one registry request of the watcher' }),
  WATCH_CONCURRENCY: Type.Integer({ default: 4, minimum: 1, maximum: 64, description: 'registry requests of the watcher at once (one per repository)' }),
  APPROVAL_TTL: Type.String({ default: '24h', pattern: '^\\d{1,9}[smhd]$', description: 'how long an update of a service labelled `container-updater.approve=true` waits for an admin\'s approval before it ends `expired` (`30m`, `24h`, `7d`)' }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s?#]+$', description: 'where callers reach the updater, e.g. `https://updater.example.com`: the approve URL in a pending update\'s message and notification starts with it (unset: the path alone)' })),
  SELF_SERVICE: Type.Optional(Type.String({ minLength: 1, description: 'the updater\'s own service (name or ID; the stack file sets `{{.Service.ID}}`): updating it is answered 202 at once' }))
})

export type Env = Static<typeof EnvSchema>
export type Config = Omit<Env, 'JWT_SECRET' | 'JWT_SECRET_FILE' | 'JWT_SECRET_PREVIOUS' | 'JWT_SECRET_PREVIOUS_FILE' | 'OIDC_POLICY_FILE' | 'TRUST_PROXY' |
'NOTIFY_URLS' | 'NOTIFY_URLS_FILE' | 'NOTIFY_SECRET' | 'NOTIFY_SECRET_FILE' | 'NOTIFY_ON' | 'HOOK_REGISTRY_ALIASES' | 'PUSH_LABEL' |
'GITHUB_WEBHOOK_SECRET_FILE' | 'DOCKERHUB_WEBHOOK_TOKEN_FILE' | 'GITEA_WEBHOOK_SECRET_FILE' | 'QUAY_WEBHOOK_TOKEN_FILE'> & {
  JWT_SECRET: string
  /** Fastify's trustProxy: which hops of X-Forwarded-For are proxies of ours */
  TRUST_PROXY: boolean | number | string[]
  /** still accepted while clients move to JWT_SECRET */
  JWT_SECRET_PREVIOUS?: string
  /** the parsed OIDC_POLICY_FILE, when OIDC is configured */
  oidcPolicy?: OidcPolicy
  /** parsed NOTIFY_URLS / NOTIFY_ON (the raw URLs are secrets and never kept) */
  notifyTargets: NotifyTarget[]
  notifyOn: ReadonlySet<NotifyEvent>
  notifySecret?: string
  registryAliases: RegistryAliases
  pushLabel: LabelSelector
}

export { ConfigError }

/** Validates the environment once; throws a ConfigError whose message is one line for operators. */
export function loadConfig (source: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings are how `-e VAR=` unsets a variable: treat them as absent.
  const data = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''))
  let env: Env
  try {
    // env: false: only `source` counts (env-schema's default merges process.env back in, undoing
    // the empty-string rule above and leaking the shell's PORT or DOCKER_HOST into tests).
    env = envSchema<Env>({ schema: EnvSchema, data, env: false, dotenv: false })
  } catch (error) {
    const problems = (error as { errors?: EnvError[] }).errors
    if (problems === undefined) throw new ConfigError(`invalid configuration: ${(error as Error).message}`)
    throw new ConfigError(`invalid configuration: ${problems.map((p) => describeEnvError(p, data, EnvSchema.properties)).join('; ')}`)
  }
  const {
    JWT_SECRET_FILE, JWT_SECRET: inline, JWT_SECRET_PREVIOUS_FILE, JWT_SECRET_PREVIOUS: previousInline, OIDC_POLICY_FILE,
    NOTIFY_URLS, NOTIFY_URLS_FILE, NOTIFY_SECRET, NOTIFY_SECRET_FILE, NOTIFY_ON, HOOK_REGISTRY_ALIASES, PUSH_LABEL,
    GITHUB_WEBHOOK_SECRET, GITHUB_WEBHOOK_SECRET_FILE, DOCKERHUB_WEBHOOK_TOKEN, DOCKERHUB_WEBHOOK_TOKEN_FILE,
    GITEA_WEBHOOK_SECRET, GITEA_WEBHOOK_SECRET_FILE, QUAY_WEBHOOK_TOKEN, QUAY_WEBHOOK_TOKEN_FILE, ...rest
  } = env
  const secret = readSecret('JWT_SECRET', inline, JWT_SECRET_FILE)
  if (secret === undefined) throw new ConfigError('JWT_SECRET (or JWT_SECRET_FILE) is required')
  const previous = readSecret('JWT_SECRET_PREVIOUS', previousInline, JWT_SECRET_PREVIOUS_FILE)
  const notifySecret = readSecret('NOTIFY_SECRET', NOTIFY_SECRET, NOTIFY_SECRET_FILE, 16)
  let notifications: Pick<Config, 'notifyTargets' | 'notifyOn'>
  try {
    notifications = { notifyTargets: parseNotifyUrls(readSecret('NOTIFY_URLS', NOTIFY_URLS, NOTIFY_URLS_FILE, 0)), notifyOn: parseNotifyOn(NOTIFY_ON) }
  } catch (error) {
    if (error instanceof NotifyConfigError) throw new ConfigError(error.message)
    throw error
  }
  const hooks: Pick<Config, 'registryAliases' | 'pushLabel' | 'GITHUB_WEBHOOK_SECRET' | 'DOCKERHUB_WEBHOOK_TOKEN' | 'GITEA_WEBHOOK_SECRET' | 'QUAY_WEBHOOK_TOKEN'> = {
    registryAliases: parseNamed('HOOK_REGISTRY_ALIASES', () => parseRegistryAliases(HOOK_REGISTRY_ALIASES)),
    pushLabel: parseNamed('PUSH_LABEL', () => parseLabelSelector(PUSH_LABEL)),
    ...readHookSecrets(env)
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

/** A parser's TypeError as a ConfigError that names the variable. */
function parseNamed<T> (name: string, parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    if (error instanceof TypeError) throw new ConfigError(`${name}: ${error.message}`)
    throw error
  }
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
