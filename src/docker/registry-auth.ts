import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { registryHost } from './image-ref.js'

/**
 * Does the updater hold registry credentials for an image? Only then is `--with-registry-auth`
 * passed: with it and no credentials the CLI would send empty auth and wipe what the spec already
 * holds (docs/API.md §1). Read from the CLI's own config.json (`auths`, `credHelpers`, `credsStore`).
 */
export type RegistryAuthCheck = (image: string) => boolean

interface DockerConfigFile {
  auths?: Record<string, unknown>
  credHelpers?: Record<string, string>
  credsStore?: string
}

const dockerHubKeys = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/']

export function dockerConfigPath (env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json')
}

export function registryAuthCheck (configPath: string): RegistryAuthCheck {
  return (image) => {
    let config: DockerConfigFile
    try {
      // Read on every update: credentials may be added (docker login) while the updater runs.
      config = JSON.parse(readFileSync(configPath, 'utf8')) as DockerConfigFile
    } catch {
      return false
    }
    if (typeof config.credsStore === 'string' && config.credsStore !== '') return true
    const host = registryHost(image)
    const keys = host === 'docker.io' ? dockerHubKeys : [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`]
    return keys.some((key) => (config.auths !== undefined && Object.hasOwn(config.auths, key)) ||
      (config.credHelpers !== undefined && Object.hasOwn(config.credHelpers, key)))
  }
}
