import { readFileSync } from 'node:fs'
import { Type, type Static } from '@sinclair/typebox'
import { envSchema } from 'env-schema'

/**
 * The one description of the service's configuration (DESIGN.md §4). The config type is derived
 * from this schema, so the two cannot drift.
 */
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
type LogLevel = typeof logLevels[number]

export const EnvSchema = Type.Object({
  JWT_SECRET: Type.Optional(Type.String({ description: 'HS256 secret, at least 32 bytes' })),
  JWT_SECRET_FILE: Type.Optional(Type.String({ description: 'file holding the secret (Docker secrets)' })),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  JWT_REQUIRE_SCOPE: Type.Boolean({ default: false, description: 'reject tokens without a services claim' }),
  JWT_CLOCK_TOLERANCE: Type.Integer({ default: 5, minimum: 0, maximum: 300, description: 'seconds of leeway for exp/nbf/iat' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  HOST: Type.String({ default: '0.0.0.0' }),
  LOG_LEVEL: Type.Unsafe<LogLevel>({ type: 'string', enum: logLevels, default: 'info' }),
  UPDATE_TIMEOUT: Type.Integer({ default: 600, minimum: 1, description: 'seconds to wait for convergence before 504' }),
  DOCKER_HOST: Type.Optional(Type.String()),
  DOCKER_BIN: Type.String({ default: 'docker', description: 'the Docker CLI to run' }),
  DOCKER_COMMAND_TIMEOUT: Type.Integer({ default: 60, minimum: 1, description: 'seconds before a Docker CLI call is killed' }),
  MAX_CONCURRENT_UPDATES: Type.Integer({ default: 8, minimum: 1, description: 'Docker updates running at once across services' }),
  UPDATE_HISTORY: Type.Integer({ default: 1000, minimum: 1, description: 'update records kept for GET /updates/:id' }),
  AUTH_FAILURE_LIMIT: Type.Integer({ default: 30, minimum: 1, description: 'failed authentications per client address and window before 429' }),
  AUTH_FAILURE_WINDOW: Type.Integer({ default: 60, minimum: 1, description: 'seconds' }),
  TRUST_PROXY: Type.Boolean({ default: false, description: 'take the client address from X-Forwarded-For' }),
  SHUTDOWN_GRACE: Type.Integer({ default: 60, minimum: 1, description: 'seconds in-flight requests get on SIGTERM' }),
  POLL_INTERVAL_MS: Type.Integer({ default: 500, minimum: 10, description: 'how often a running update is read' })
})

export type Env = Static<typeof EnvSchema>
export type Config = Omit<Env, 'JWT_SECRET' | 'JWT_SECRET_FILE'> & { JWT_SECRET: string }

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
  const { JWT_SECRET_FILE, JWT_SECRET: inline, ...rest } = env
  let secret = inline
  if (JWT_SECRET_FILE !== undefined) {
    if (inline !== undefined) throw new ConfigError('set JWT_SECRET or JWT_SECRET_FILE, not both')
    try {
      // Secret files usually end with a newline that is not part of the secret.
      secret = readFileSync(JWT_SECRET_FILE, 'utf8').replace(/\r?\n$/, '')
    } catch (error) {
      throw new ConfigError(`JWT_SECRET_FILE ${JWT_SECRET_FILE} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
  if (secret === undefined) throw new ConfigError('JWT_SECRET (or JWT_SECRET_FILE) is required')
  const bytes = Buffer.byteLength(secret)
  if (bytes < MIN_SECRET_BYTES) {
    const name = JWT_SECRET_FILE !== undefined ? 'JWT_SECRET_FILE' : 'JWT_SECRET'
    throw new ConfigError(`${name} must hold at least ${MIN_SECRET_BYTES} bytes (got ${bytes})`)
  }
  return { ...rest, JWT_SECRET: secret }
}
