#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { createSigner } from 'fast-jwt'
import { createTokenVerifier } from './auth/verifier.js'
import { scopeDecision } from './auth/scope.js'
import { ACCESS_LEVELS, isAccess } from './auth/access.js'
import { candidateServiceNames } from './docker/names.js'
import { ConfigError, loadConfig } from './config.js'

const usage = `usage:
  container-updater [serve]          start the server (configured by the environment)
  container-updater token --subject NAME [--services a,b*] [--access read|deploy|admin] [--expires-in 30d]
                                     print a token signed with JWT_SECRET / JWT_SECRET_FILE
  container-updater verify TOKEN|- [--service NAME]
                                     explain whether the server would accept a token (- reads stdin)`

const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** "30d", "12h", "15m", "90s" → seconds. */
export function parseDuration (text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text)
  const unit = units[match?.[2] ?? '']
  if (match === null || unit === undefined || Number(match[1]) <= 0) {
    throw new ConfigError(`--expires-in must look like 90s, 15m, 12h or 30d (got ${JSON.stringify(text)})`)
  }
  return Number(match[1]) * unit
}

export function mintToken (argv: string[], env: NodeJS.ProcessEnv = process.env): string {
  const { values } = parseArgs({
    args: argv,
    options: {
      subject: { type: 'string' },
      services: { type: 'string' },
      access: { type: 'string' },
      'expires-in': { type: 'string', default: '30d' }
    },
    strict: true
  })
  if (values.subject === undefined || values.subject === '') throw new ConfigError('--subject NAME is required')
  if (values.access !== undefined && !isAccess(values.access)) throw new ConfigError(`--access must be one of ${ACCESS_LEVELS.join(', ')} (got ${JSON.stringify(values.access)})`)
  const config = loadConfig(env)
  const services = values.services?.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const sign = createSigner({
    key: config.JWT_SECRET,
    algorithm: 'HS256',
    expiresIn: parseDuration(values['expires-in']) * 1000,
    ...(config.JWT_ISSUER !== undefined && { iss: config.JWT_ISSUER }),
    ...(config.JWT_AUDIENCE !== undefined && { aud: config.JWT_AUDIENCE })
  })
  return sign({ sub: values.subject, ...(services !== undefined && { services }), ...(values.access !== undefined && { access: values.access }) })
}

/**
 * Explains whether the server, configured by this environment, accepts a token, and whether it may
 * update a service. Uses the server's own verification code (src/auth/verifier.ts), without
 * building the server. Returns the exit code.
 */
export async function explainToken (argv: string[], env: NodeJS.ProcessEnv = process.env, out = process.stdout): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { service: { type: 'string' } }, allowPositionals: true, strict: true })
  const [given] = positionals
  if (given === undefined || positionals.length > 1) throw new ConfigError('usage: container-updater verify TOKEN|- [--service NAME]')
  const token = (given === '-' ? readFileSync(0, 'utf8') : given).trim()
  const config = loadConfig(env)
  const verifier = await createTokenVerifier(config)
  const verification = await verifier.verify(token)
  if (!verification.ok) {
    out.write(`rejected: ${verification.message} (${verification.reason})\n`)
    return 1
  }
  const { principal } = verification
  const scope = principal.services === undefined ? 'any service (no services claim)' : principal.services.join(', ') || 'no service'
  out.write(`accepted: subject ${principal.subject ?? '(none)'}, verified with ${principal.via}, expires ${new Date(principal.expiresAt * 1000).toISOString()}\n`)
  out.write(`scope: ${scope}\n`)
  out.write(`access: ${principal.access}\n`)
  if (values.service === undefined) return 0
  const decision = scopeDecision(principal, candidateServiceNames(values.service), config.JWT_REQUIRE_SCOPE)
  out.write(`${values.service}: ${decision.allowed ? 'allowed' : 'forbidden'} (${decision.why})\n`)
  return decision.allowed ? 0 : 1
}

async function main (argv: string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv
  // Loaded only to serve: `token` and `verify` need neither Fastify nor the Docker plumbing.
  if (command === 'serve') return (await import('./server.js')).startServer()
  if (command === 'token') {
    process.stdout.write(mintToken(rest) + '\n')
    return
  }
  if (command === 'verify') {
    process.exitCode = await explainToken(rest)
    return
  }
  if (command === '--help' || command === 'help') {
    process.stdout.write(usage + '\n')
    return
  }
  throw new ConfigError(`unknown command ${JSON.stringify(command)}\n${usage}`)
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`container-updater: ${(error as Error).message}\n`)
  process.exit(error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true ? 2 : 1)
})
