import type { TestContext } from 'node:test'
import { createSigner } from 'fast-jwt'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppOptions } from '../src/app.ts'
import { loadConfig, type Config } from '../src/config.ts'

export const SECRET = 'test-secret-that-is-at-least-32-bytes-long!'

/** A validated config, as the process would build it from these variables. */
export function testConfig (env: Record<string, string> = {}): Config {
  return loadConfig({ JWT_SECRET: SECRET, LOG_LEVEL: 'silent', POLL_INTERVAL_MS: '100', UPDATE_TIMEOUT: '60', DATA_DIR: ':memory:', WATCH: 'false', ...env })
}

/** The app, closed when the test ends. */
export async function build (t: TestContext, env: Record<string, string> = {}, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = await buildApp(testConfig(env), options)
  t.after(() => app.close())
  await app.ready()
  return app
}

/** A valid HS256 token (1 h) with these claims. */
export function token (claims: Record<string, unknown> = {}, { secret = SECRET, expiresIn = 3600_000 }: { secret?: string, expiresIn?: number } = {}): string {
  return createSigner({ key: secret, algorithm: 'HS256', ...(expiresIn > 0 && { expiresIn }) })({ sub: 'test', ...claims })
}

export const bearer = (jwt: string = token()) => ({ authorization: `Bearer ${jwt}` })

export const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** A token assembled by hand: any header, any payload, signed with HS256 over exactly those bytes. */
export async function craftToken (header: unknown, payload: unknown, key: string | Buffer = SECRET): Promise<string> {
  const { createHmac } = await import('node:crypto')
  const input = `${b64url(header)}.${b64url(payload)}`
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

export async function postUpdate (app: FastifyInstance, body: unknown, headers: Record<string, string> = bearer()) {
  return app.inject({ method: 'POST', url: '/update', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) })
}
