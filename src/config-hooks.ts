import { ConfigError } from './config-errors.js'
import { readSecret } from './config-secrets.js'

/**
 * The registry hooks' credentials, each from NAME or NAME_FILE (a Docker secret): the secrets that
 * GitHub and Gitea sign deliveries with (at least 16 bytes), and the tokens in Docker Hub's and
 * Quay's webhook URLs (at least 32 bytes of `A-Za-z0-9_-`). A hook's route exists only when its
 * credential is set (src/app.ts).
 */
const HOOK_SECRETS = [
  ['GITHUB_WEBHOOK_SECRET', 16, 'signature'],
  ['GITEA_WEBHOOK_SECRET', 16, 'signature'],
  ['DOCKERHUB_WEBHOOK_TOKEN', 32, 'url-token'],
  ['QUAY_WEBHOOK_TOKEN', 32, 'url-token']
] as const

type HookSecretName = typeof HOOK_SECRETS[number][0]
export type HookSecrets = { [name in HookSecretName]?: string }

/** The four credentials as given inline or read from their files; unset ones are absent. */
export function readHookSecrets (env: { [name in HookSecretName | `${HookSecretName}_FILE`]?: string }): HookSecrets {
  const secrets: HookSecrets = {}
  for (const [name, minBytes, kind] of HOOK_SECRETS) {
    const secret = readSecret(name, env[name], env[`${name}_FILE`], minBytes)
    if (secret === undefined) continue
    // The schema's pattern checks the inline value only; a token read from a file is held to it here.
    if (kind === 'url-token' && !/^[A-Za-z0-9_-]+$/.test(secret)) throw new ConfigError(`${name} must be made of A-Za-z0-9_- (it is a URL path segment)`)
    secrets[name] = secret
  }
  return secrets
}
