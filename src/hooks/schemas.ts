import { Type } from '@sinclair/typebox'
import { IGNORE_REASONS, type IgnoreReason } from './events.js'

/** The answer to every accepted delivery (202), whatever it contained. */
export const HookReceipt = Type.Object({
  accepted: Type.Integer({ minimum: 0, description: 'tag pushes handed to the updater' }),
  ignored: Type.Integer({ minimum: 0, description: 'events not acted on (blobs, by-digest pushes, pulls, other event types); why: `ignoredReasons`' }),
  ignoredReasons: Type.Array(Type.Object({
    reason: Type.Unsafe<IgnoreReason>({
      type: 'string',
      enum: Object.keys(IGNORE_REASONS),
      description: Object.entries(IGNORE_REASONS).map(([r, text]) => `\`${r}\`: ${text}`).join('; ')
    }),
    count: Type.Integer({ minimum: 1 })
  }, { additionalProperties: false }), { description: 'why the ignored events were not acted on: one entry per reason (empty when nothing was ignored)' }),
  duplicate: Type.Integer({ minimum: 0, description: 'tag pushes whose event id was already received in the last 24 h (a redelivery changes nothing)' })
}, { additionalProperties: false, description: 'Received; updates run in the background' })

const loose = { additionalProperties: true }

/** The documented shapes of each provider's body (documentation only: the handler parses the raw bytes). */
export const DistributionBody = Type.Object({
  events: Type.Array(Type.Object({
    id: Type.String(),
    action: Type.String({ description: 'only "push" counts' }),
    target: Type.Object({
      mediaType: Type.String(),
      repository: Type.String(),
      tag: Type.Optional(Type.String({ description: 'present only for a manifest pushed by tag' })),
      digest: Type.String()
    }, loose),
    request: Type.Object({ host: Type.String({ description: 'the registry host as its client addressed it' }) }, loose)
  }, loose))
}, { ...loose, description: 'Distribution notification envelope (application/vnd.docker.distribution.events.v1+json)' })

export const GithubBody = Type.Object({
  action: Type.String({ description: '"published" or "updated" count' }),
  registry_package: Type.Optional(Type.Object({}, loose)),
  package: Type.Optional(Type.Object({}, loose))
}, { ...loose, description: 'GitHub registry_package / package event; tag from package_version.container_metadata.tag.name' })

export const HarborBody = Type.Object({
  type: Type.String({ description: '"PUSH_ARTIFACT" (or "harbor.artifact.pushed" in the CloudEvents format; "pushImage" from Harbor 1.x and Tencent Container Registry) counts' }),
  occur_at: Type.Optional(Type.Integer()),
  event_data: Type.Optional(Type.Object({
    resources: Type.Array(Type.Object({ digest: Type.String(), tag: Type.String(), resource_url: Type.String() }, loose)),
    repository: Type.Object({ repo_full_name: Type.String() }, loose)
  }, loose))
}, { ...loose, description: 'Harbor webhook payload (default or CloudEvents format; Harbor 1.x / TCR pushImage)' })

export const DockerhubBody = Type.Object({
  push_data: Type.Object({ tag: Type.String(), pushed_at: Type.Number(), pusher: Type.String() }, loose),
  repository: Type.Object({ repo_name: Type.String() }, loose)
}, { ...loose, description: 'Docker Hub webhook payload' })

export const AcrBody = Type.Object({
  id: Type.String(),
  action: Type.String({ description: 'only "push" with a tag counts (also sent: delete, chart_push, chart_delete, quarantine)' }),
  target: Type.Object({ mediaType: Type.String(), repository: Type.String(), tag: Type.Optional(Type.String()), digest: Type.String() }, loose),
  request: Type.Object({ host: Type.String({ description: 'the registry, e.g. myregistry.azurecr.io' }) }, loose)
}, { ...loose, description: 'Azure Container Registry webhook event (one per request, no envelope)' })

export const QuayBody = Type.Object({
  repository: Type.String({ description: 'namespace/name' }),
  docker_url: Type.String({ description: 'the pullable repository, <SERVER_HOSTNAME>/<namespace>/<name>' }),
  updated_tags: Type.Array(Type.String(), { description: 'present only in repo_push: one event per tag' })
}, { ...loose, description: 'Quay "Push to Repository" (repo_push) notification, Webhook POST method' })

export const GiteaBody = Type.Object({
  action: Type.String({ description: 'only "created" counts' }),
  package: Type.Object({
    type: Type.String({ description: 'only "container" counts' }),
    name: Type.String(),
    version: Type.String({ description: 'the pushed tag' }),
    owner: Type.Object({ login: Type.String() }, loose),
    html_url: Type.String({ description: 'its host is the registry' })
  }, loose)
}, { ...loose, description: 'Gitea / Forgejo package webhook (X-Gitea-Event or X-Forgejo-Event: package)' })

export const ZotBody = Type.Object({
  name: Type.String({ description: 'the repository' }),
  reference: Type.String({ description: 'the tag (or a digest: ignored)' }),
  digest: Type.String(),
  mediaType: Type.String()
}, { ...loose, description: 'zot event data (CloudEvents binary mode: Ce-Type zotregistry.image.updated counts); a structured-mode event carries it under "data"' })

export const TokenParams = Type.Object({
  token: Type.String({ description: 'the configured webhook token: the only credential (the registry signs nothing); never logged' })
})

export const ZotQuery = Type.Object({
  registry: Type.Optional(Type.String({ description: 'the registry host[:port] the zot instance is pulled from (zot\'s events name none); required for image.updated' }))
})
