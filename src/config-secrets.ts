import { readFileSync } from 'node:fs'
import { ConfigError } from './config-errors.js'

export const MIN_SECRET_BYTES = 32

/**
 * A secret from NAME or NAME_FILE (not both), at least `minBytes` long. NAME_FILE is how Docker
 * secrets reach a service (`/run/secrets/…`); it is read once, at start. An error names the
 * variable, never what it holds.
 */
export function readSecret (name: string, inline: string | undefined, file: string | undefined, minBytes = MIN_SECRET_BYTES): string | undefined {
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
