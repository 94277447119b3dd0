import { Type } from '@sinclair/typebox'
import { SERVICE_NAME_MAX_LENGTH, SERVICE_NAME_PATTERN, TAG_PATTERN } from '../docker/names.js'

export const UpdateBody = Type.Object({
  appName: Type.String({
    pattern: SERVICE_NAME_PATTERN,
    minLength: 1,
    maxLength: SERVICE_NAME_MAX_LENGTH,
    description: 'Swarm service to update: the exact name, else the stack service <appName>_<appName>'
  }),
  tag: Type.Optional(Type.String({ pattern: TAG_PATTERN, description: "roll onto this tag of the service's current repository" })),
  wait: Type.Optional(Type.Boolean({ default: true, description: 'wait for Swarm to finish or roll back before answering' }))
}, { additionalProperties: false })

const nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()])

export const UpdateRecord = Type.Object({
  updateId: Type.String({ format: 'uuid' }),
  appName: Type.String(),
  service: Type.String({ description: 'the resolved Swarm service name' }),
  status: Type.Union(['queued', 'updating', 'completed', 'rolled_back', 'paused', 'timeout', 'failed'].map((s) => Type.Literal(s))),
  previousImage: nullable(Type.String({ description: 'spec image (with digest) before the update' })),
  image: nullable(Type.String({ description: 'spec image (with digest) after the update or rollback' })),
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: nullable(Type.String({ format: 'date-time' })),
  durationMs: nullable(Type.Integer()),
  statusUrl: Type.String({ description: 'GET this path for the state of the update' }),
  message: Type.Optional(Type.String({ description: "Docker's reason for a rollback, pause, timeout or failure" }))
}, { $id: 'UpdateRecord', description: 'An update of one service, shared by every request merged into it' })

export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.Optional(Type.String())
}, { $id: 'ErrorReply' })

export const UpdateParams = Type.Object({
  updateId: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' })
}, { additionalProperties: false })

export const errorReplies = (codes: number[]) => Object.fromEntries(codes.map((code) => [code, Type.Ref(ErrorReply)]))
