import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'

/**
 * Webhook bodies built from each provider's documented shape (field names as the providers send
 * them), for the hook tests.
 */
export const DIGEST = 'sha256:' + '1'.repeat(64)
export const OTHER_DIGEST = 'sha256:' + '2'.repeat(64)

/** One Distribution event (docker-registry sends one per blob, then one for the tagged manifest). */
export function distributionEvent ({ id = 'e-' + Math.random().toString(36).slice(2), action = 'push', repository = 'team/app', tag = 'v1' as string | null, digest = DIGEST, host = '127.0.0.1:5000', mediaType = 'application/vnd.docker.distribution.manifest.v2+json' } = {}) {
  return {
    id,
    timestamp: '2024-01-18T14:37:42.194082639Z',
    action,
    target: {
      mediaType,
      size: 528,
      digest,
      length: 528,
      repository,
      url: `http://${host}/v2/${repository}/manifests/${digest}`,
      ...(tag !== null && { tag })
    },
    request: { id: 'r-1', addr: '127.0.0.1:40000', host, method: 'PUT', useragent: 'docker/20.10' },
    actor: { name: 'ci' },
    source: { addr: 'registry:5000', instanceID: 'i-1' }
  }
}

export const blobEvent = (repository = 'team/app') => distributionEvent({ repository, tag: null, digest: 'sha256:' + '3'.repeat(64), mediaType: 'application/octet-stream' })

/** GitHub `registry_package` (or `package`) event for a container version. */
export function githubPackage ({ kind = 'registry_package', action = 'published', owner = 'Octo-Org', name = 'app', tag = 'v1', digest = DIGEST } = {}) {
  return {
    action,
    [kind]: {
      id: 10696,
      name,
      namespace: owner,
      ecosystem: 'CONTAINER',
      package_type: 'CONTAINER',
      owner: { login: owner, type: 'Organization' },
      package_version: {
        id: 57755791,
        version: digest,
        name: digest,
        container_metadata: { tag: { name: tag, digest }, labels: {}, manifest: {} },
        package_url: `ghcr.io/${owner.toLowerCase()}/${name}${tag === '' ? '' : ':' + tag}`
      },
      registry: { name: 'GitHub CONTAINER registry', type: 'CONTAINER', url: `https://ghcr.io/${owner}` }
    },
    sender: { login: 'octocat' }
  }
}

export function githubHeaders (raw: string, { secret = 'github-webhook-secret', event = 'registry_package', delivery = 'd-' + Math.random().toString(36).slice(2) } = {}) {
  return {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': delivery,
    'x-hub-signature-256': 'sha256=' + createHmac('sha256', secret).update(raw).digest('hex')
  }
}

/** Harbor PUSH_ARTIFACT, default format. */
export function harborPush ({ type = 'PUSH_ARTIFACT', host = 'harbor.example.com', repo = 'library/app', tag = 'v1', digest = DIGEST, occurAt = 1678082303 } = {}) {
  const [namespace, name] = repo.split('/')
  return {
    type,
    occur_at: occurAt,
    operator: 'admin',
    event_data: {
      resources: [{ digest, tag, resource_url: `${host}/${repo}:${tag}` }],
      repository: { date_created: 1677053165, name, namespace, repo_full_name: repo, repo_type: 'private' }
    }
  }
}

/** Docker Hub repository webhook. */
export function dockerhubPush ({ repo = 'acme/app', tag = 'latest', pushedAt = 1417566161 } = {}) {
  const [namespace, name] = repo.split('/')
  return {
    callback_url: `https://registry.hub.docker.com/u/${repo}/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/`,
    push_data: { pushed_at: pushedAt, pusher: 'trustedbuilder', tag },
    repository: { comment_count: 0, date_created: 1417494799, description: '', is_official: false, is_private: true, name, namespace, owner: namespace, repo_name: repo, repo_url: `https://registry.hub.docker.com/u/${repo}/`, star_count: 0, status: 'Active' }
  }
}

/** A registry's own payload from test/fixtures/hooks (its README says where each came from), as JSON. */
export function fixture (name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/hooks/${name}`, import.meta.url), 'utf8'))
}
