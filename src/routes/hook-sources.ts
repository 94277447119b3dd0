import type { DeliveryLimits, DeliveryMemory } from '../hooks/deliveries.js'
import type { FastifyRequest } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import { validGithubSignature, validHexSignature } from '../hooks/credentials.js'
import type { HookHeaders, HookSource, ParsedDelivery } from '../hooks/events.js'
import { parseAcr } from '../hooks/acr.js'
import { parseDistribution } from '../hooks/distribution.js'
import { parseDockerhub } from '../hooks/dockerhub.js'
import { parseGitea } from '../hooks/gitea.js'
import { parseGithub } from '../hooks/github.js'
import { parseHarbor } from '../hooks/harbor.js'
import { parseQuay } from '../hooks/quay.js'
import { parseZot } from '../hooks/zot.js'
import { AcrBody, DistributionBody, DockerhubBody, GiteaBody, GithubBody, HarborBody, QuayBody, ZotBody, ZotQuery } from '../hooks/schemas.js'
import { DOCKERHUB_HOOK_ROUTE, QUAY_HOOK_ROUTE } from '../hooks/redact.js'

export interface HooksOptions {
  /** GITHUB_WEBHOOK_SECRET; POST /hooks/github exists only when it is set */
  githubSecret?: string | undefined
  /** GITHUB_REGISTRY_HOST: the one registry GitHub deliveries may name (default ghcr.io) */
  githubRegistryHost?: string | undefined
  /** DOCKERHUB_WEBHOOK_TOKEN (at least 32 characters); POST /hooks/dockerhub/:token exists only when it is set */
  dockerhubToken?: string | undefined
  /** GITEA_WEBHOOK_SECRET; POST /hooks/gitea (Gitea and Forgejo) exists only when it is set */
  giteaSecret?: string | undefined
  /** QUAY_WEBHOOK_TOKEN (at least 32 characters); POST /hooks/quay/:token exists only when it is set */
  quayToken?: string | undefined
  /**
   * where handled event ids are remembered (app.ts: the record database, or memory with
   * DATA_DIR=:memory:); without it, an in-memory log of `deliveries` limits
   */
  memory?: DeliveryMemory
  /** how many event ids are remembered, and for how long (defaults 10 000 and 24 h) */
  deliveries?: DeliveryLimits
}

/**
 * How a source proves a delivery is its own (docs/WEBHOOKS.md): our bearer token in headers the
 * registry is configured to send; an HMAC of the body with a shared secret where the source signs;
 * a long random token in the path where it can do neither.
 */
export type HookAuth =
  | { kind: 'bearer' }
  | { kind: 'signature', header: string, verify: (raw: Buffer, headers: HookHeaders) => boolean, present: (headers: HookHeaders) => boolean }
  | { kind: 'path-token', token: string }

/** One registry route: where it is, what it documents, how it is authenticated and parsed. */
export interface HookRoute {
  source: HookSource
  url: string
  summary: string
  description: string
  body: TSchema
  querystring?: TSchema
  /** bytes; the app's 4 KiB suits POST /update, not a registry's batch or GitHub's manifests */
  bodyLimit: number
  auth: HookAuth
  parse: (body: unknown, request: FastifyRequest) => ParsedDelivery
}

const KIB = 1024

/** Every registry route this configuration enables (a route whose secret is not set does not exist). */
export function hookRouteTable (options: HooksOptions): HookRoute[] {
  const { githubSecret, dockerhubToken, giteaSecret, quayToken } = options
  const githubHost = options.githubRegistryHost ?? 'ghcr.io'
  const bearer: HookAuth = { kind: 'bearer' }
  const routes: HookRoute[] = [{
    source: 'distribution',
    url: '/hooks/distribution',
    summary: 'Push events from a Distribution registry',
    description: 'CNCF Distribution 2.x and 3.x (`registry:2`, `registry:3`, Debian\'s docker-registry, GitLab\'s registry) notifications. ' +
      'Authenticated with a bearer token of ours, sent by the registry through the `headers` of its notification endpoint. Only manifests pushed by tag count.',
    body: DistributionBody,
    bodyLimit: 512 * KIB,
    auth: bearer,
    parse: parseDistribution
  }, {
    source: 'harbor',
    url: '/hooks/harbor',
    summary: 'Push events from Harbor (2.x, 1.x) and Tencent Container Registry',
    description: 'Harbor webhook (HTTP, default or CloudEvents format) with the Auth Header `Bearer <token>`, a bearer token of ours; ' +
      'Harbor 1.x and TCR triggers (`pushImage`) likewise. Only PUSH_ARTIFACT / pushImage with a tag counts.',
    body: HarborBody,
    bodyLimit: 256 * KIB,
    auth: bearer,
    parse: parseHarbor
  }, {
    source: 'acr',
    url: '/hooks/acr',
    summary: 'Push events from Azure Container Registry',
    description: 'ACR webhook (action push), one event per request. Authenticated with a bearer token of ours in the webhook\'s custom headers ' +
      '(`Authorization: Bearer <token>`). Only images pushed by tag count.',
    body: AcrBody,
    bodyLimit: 64 * KIB,
    auth: bearer,
    parse: parseAcr
  }, {
    source: 'zot',
    url: '/hooks/zot',
    summary: 'Push events from zot',
    description: 'zot events extension, HTTP sink (CloudEvents; `zotregistry.image.updated` with a tag counts). Authenticated with a bearer token ' +
      'of ours (the sink\'s `credentials.token`); zot names no registry, so the sink address says which: `/hooks/zot?registry=<host[:port]>`.',
    body: ZotBody,
    querystring: ZotQuery,
    // The event carries the whole manifest.
    bodyLimit: 512 * KIB,
    auth: bearer,
    parse: (body, request) => parseZot(body, request.headers, (request.query as { registry?: string }).registry)
  }]
  if (githubSecret !== undefined) {
    routes.push({
      source: 'github',
      url: '/hooks/github',
      summary: `Push events from GitHub Packages (${githubHost})`,
      description: 'GitHub `registry_package` / `package` webhook (content type application/json), signed with GITHUB_WEBHOOK_SECRET ' +
        `(\`X-Hub-Signature-256\`); a missing or wrong signature is 401. Only published/updated container versions with a tag on ${githubHost} ` +
        '(GITHUB_REGISTRY_HOST) count.',
      body: GithubBody,
      bodyLimit: 1024 * KIB,
      auth: {
        kind: 'signature',
        header: 'X-Hub-Signature-256',
        present: (headers) => headers['x-hub-signature-256'] !== undefined,
        verify: (raw, headers) => validGithubSignature(raw, headers['x-hub-signature-256'], githubSecret)
      },
      parse: (body, request) => parseGithub(body, request.headers, githubHost)
    })
  }
  if (giteaSecret !== undefined) {
    // Forgejo sends both its own header and Gitea's; either one, verified, is enough.
    const signature = (headers: HookHeaders) => headers['x-forgejo-signature'] ?? headers['x-gitea-signature']
    routes.push({
      source: 'gitea',
      url: '/hooks/gitea',
      summary: 'Push events from Gitea and Forgejo packages',
      description: 'Gitea / Forgejo package webhook (POST, content type application/json, event "Package"), signed with GITEA_WEBHOOK_SECRET ' +
        '(`X-Gitea-Signature` / `X-Forgejo-Signature`, hex HMAC-SHA256); a missing or wrong signature is 401. Only created container versions count.',
      body: GiteaBody,
      bodyLimit: 256 * KIB,
      auth: {
        kind: 'signature',
        header: 'X-Gitea-Signature',
        present: (headers) => signature(headers) !== undefined,
        verify: (raw, headers) => validHexSignature(raw, signature(headers), giteaSecret)
      },
      parse: (body, request) => parseGitea(body, request.headers)
    })
  }
  if (dockerhubToken !== undefined) {
    routes.push({
      source: 'dockerhub',
      url: DOCKERHUB_HOOK_ROUTE,
      summary: 'Push events from Docker Hub',
      description: 'Docker Hub repository webhook. Docker Hub signs nothing: the long random DOCKERHUB_WEBHOOK_TOKEN in the path is the ' +
        'credential, compared in constant time and never logged.',
      body: DockerhubBody,
      bodyLimit: 256 * KIB,
      auth: { kind: 'path-token', token: dockerhubToken },
      parse: parseDockerhub
    })
  }
  if (quayToken !== undefined) {
    routes.push({
      source: 'quay',
      url: QUAY_HOOK_ROUTE,
      summary: 'Push events from Quay',
      description: 'Quay "Push to Repository" notification, Webhook POST method. Quay signs nothing and sends no configured header: the long ' +
        'random QUAY_WEBHOOK_TOKEN in the path is the credential, compared in constant time and never logged. One event per updated tag.',
      body: QuayBody,
      bodyLimit: 64 * KIB,
      auth: { kind: 'path-token', token: quayToken },
      parse: parseQuay
    })
  }
  return routes
}
