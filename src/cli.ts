#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { createSigner } from 'fast-jwt'
import { ConfigError, loadConfig } from './config.js'
import { startServer } from './server.js'

const usage = `usage:
  container-updater [serve]          start the server (configured by the environment)
  container-updater token --subject NAME [--services a,b*] [--expires-in 30d]
                                     print a token signed with JWT_SECRET / JWT_SECRET_FILE`

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
      'expires-in': { type: 'string', default: '30d' }
    },
    strict: true
  })
  if (values.subject === undefined || values.subject === '') throw new ConfigError('--subject NAME is required')
  const config = loadConfig(env)
  const services = values.services?.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const sign = createSigner({
    key: config.JWT_SECRET,
    algorithm: 'HS256',
    expiresIn: parseDuration(values['expires-in']) * 1000,
    ...(config.JWT_ISSUER !== undefined && { iss: config.JWT_ISSUER }),
    ...(config.JWT_AUDIENCE !== undefined && { aud: config.JWT_AUDIENCE })
  })
  return sign({ sub: values.subject, ...(services !== undefined && { services }) })
}

async function main (argv: string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv
  if (command === 'serve') return startServer()
  if (command === 'token') {
    process.stdout.write(mintToken(rest) + '\n')
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
