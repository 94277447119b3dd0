import { Type } from '@sinclair/typebox'
import { SERVICE_NAME_MAX_LENGTH, SERVICE_NAME_PATTERN, TAG_PATTERN } from '../docker/names.js'
import { BatchTargetSchema, SkippedSchema, UPDATE_STATES, UpdateRecordSchema } from '../store/records.js'

export { UpdateRecordSchema as UpdateRecord }

const serviceName = (description: string) => Type.String({ pattern: SERVICE_NAME_PATTERN, minLength: 1, maxLength: SERVICE_NAME_MAX_LENGTH, description })

/** `repo[:tag]`: registry host (with port), path components, an optional tag; no digest. */
export const IMAGE_TARGET_PATTERN = '^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$'

export const UpdateBody = Type.Object({
  appName: Type.Optional(serviceName('Swarm service to update: the exact name, else the stack service <appName>_<appName>')),
  image: Type.Optional(Type.String({ pattern: IMAGE_TARGET_PATTERN, maxLength: 512, description: 'every service running this repo[:tag] (no tag: latest), repositories compared as Docker normalises them' })),
  stack: Type.Optional(serviceName('every service of this stack (label com.docker.stack.namespace)')),
  tag: Type.Optional(Type.String({ pattern: TAG_PATTERN, description: "with appName only: roll onto this tag of the service's current repository" })),
  wait: Type.Optional(Type.Boolean({ default: true, description: 'wait for Swarm to finish or roll back before answering' })),
  dryRun: Type.Optional(Type.Boolean({ default: false, description: 'change nothing; answer the plan' })),
  force: Type.Optional(Type.Boolean({ default: false, description: 'start even outside the update window or under a freeze (admin tokens only: any other token gets 403 CU_ACCESS_DENIED)' }))
}, { additionalProperties: false, description: 'Exactly one of appName, image, stack' })

export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.Optional(Type.String()),
  skipped: Type.Optional(Type.Array(Type.Ref(SkippedSchema), { description: 'services left out (403 when every service was)' }))
}, { $id: 'ErrorReply' })

export const OutsideWindowReply = Type.Object({
  statusCode: Type.Literal(423),
  error: Type.String(),
  message: Type.String(),
  code: Type.Literal('CU_OUTSIDE_WINDOW'),
  service: Type.String({ description: 'the service outside its window' }),
  window: Type.String({ description: 'the window list, as written in the label or UPDATE_WINDOWS' }),
  opensAt: Type.String({ format: 'date-time', description: 'when the window next opens (also as Retry-After, in seconds)' })
}, { $id: 'OutsideWindowReply', description: 'An explicit update outside the update window; nothing was changed' })

export const FrozenReply = Type.Object({
  statusCode: Type.Literal(423),
  error: Type.String(),
  message: Type.String(),
  code: Type.Literal('CU_FROZEN'),
  service: Type.String({ description: 'the frozen service' }),
  freezeId: Type.String({ format: 'uuid', description: 'the freeze (GET /freezes)' }),
  reason: Type.String({ description: "the freeze's reason" }),
  until: Type.String({ format: 'date-time', description: 'when the freeze ends (also as Retry-After, in seconds)' })
}, { $id: 'FrozenReply', description: 'An explicit update of a frozen service; nothing was changed' })

export const BatchReply = Type.Object({
  batchId: Type.String({ format: 'uuid' }),
  target: Type.Ref(BatchTargetSchema),
  status: Type.Union(UPDATE_STATES.map((s) => Type.Literal(s)), { description: 'completed when every update completed; else the most severe state among them' }),
  updates: Type.Array(Type.Ref(UpdateRecordSchema)),
  skipped: Type.Array(Type.Ref(SkippedSchema)),
  statusUrl: Type.String({ description: 'GET this path for the state of the batch' })
}, { $id: 'BatchReply', description: 'An update of several services (image or stack target, or a registry push)' })

export const PlanReply = Type.Object({
  dryRun: Type.Literal(true),
  target: Type.Ref(BatchTargetSchema),
  plan: Type.Array(Type.Object({
    service: Type.String(),
    image: Type.String({ description: 'the current spec image, with its digest' }),
    targetImage: Type.String({ description: 'the repo:tag the update would roll onto' }),
    registryDigest: Type.Optional(Type.String({ description: 'the digest the tag points to now in the registry' })),
    upToDate: Type.Optional(Type.Boolean({ description: 'the service already runs registryDigest' })),
    registryError: Type.Optional(Type.String({ description: 'why the registry could not be asked' }))
  })),
  skipped: Type.Array(Type.Ref(SkippedSchema))
}, { $id: 'PlanReply', description: 'What an update would do; nothing was changed' })

export const UpdateParams = Type.Object({
  updateId: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' })
}, { additionalProperties: false })

export const BatchParams = Type.Object({
  batchId: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' })
}, { additionalProperties: false })

export const UpdatesQuery = Type.Object({
  service: Type.Optional(Type.String({ maxLength: SERVICE_NAME_MAX_LENGTH })),
  status: Type.Optional(Type.Union(UPDATE_STATES.map((s) => Type.Literal(s)))),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' }))
}, { additionalProperties: false })

export const UpdatesPage = Type.Object({
  updates: Type.Array(Type.Ref(UpdateRecordSchema)),
  nextCursor: Type.Union([Type.String(), Type.Null()])
}, { $id: 'UpdatesPage' })

export const errorReplies = (codes: number[]) => Object.fromEntries(codes.map((code) => [code, Type.Ref(ErrorReply)]))

/** Every schema with an $id, for app.addSchema (OpenAPI components get these names). */
export const sharedSchemas = [SkippedSchema, BatchTargetSchema, UpdateRecordSchema, ErrorReply, OutsideWindowReply, FrozenReply, BatchReply, PlanReply, UpdatesPage]
