import { Type } from '@sinclair/typebox'

/** The answer to every accepted delivery (202), whatever it contained. */
export const HookReceipt = Type.Object({
  accepted: Type.Integer({ minimum: 0, description: 'tag pushes handed to the updater' }),
  ignored: Type.Integer({ minimum: 0, description: 'events that are not a tag push (blobs, by-digest pushes, pulls, other event types)' }),
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
  type: Type.String({ description: '"PUSH_ARTIFACT" (or "harbor.artifact.pushed" in the CloudEvents format) counts' }),
  occur_at: Type.Optional(Type.Integer()),
  event_data: Type.Optional(Type.Object({
    resources: Type.Array(Type.Object({ digest: Type.String(), tag: Type.String(), resource_url: Type.String() }, loose)),
    repository: Type.Object({ repo_full_name: Type.String() }, loose)
  }, loose))
}, { ...loose, description: 'Harbor webhook payload (default or CloudEvents format)' })

export const DockerhubBody = Type.Object({
  push_data: Type.Object({ tag: Type.String(), pushed_at: Type.Number(), pusher: Type.String() }, loose),
  repository: Type.Object({ repo_name: Type.String() }, loose)
}, { ...loose, description: 'Docker Hub webhook payload' })

export const DockerhubParams = Type.Object({
  token: Type.String({ description: 'DOCKERHUB_WEBHOOK_TOKEN: the only credential (Docker Hub signs nothing); never logged' })
})
