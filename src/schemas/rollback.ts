import { Type } from '@sinclair/typebox'
import { SERVICE_NAME_MAX_LENGTH, SERVICE_NAME_PATTERN } from '../docker/names.js'

/** POST /rollback (docs/API.md, "POST /rollback"). */
export const RollbackBody = Type.Object({
  appName: Type.String({ pattern: SERVICE_NAME_PATTERN, minLength: 1, maxLength: SERVICE_NAME_MAX_LENGTH, description: 'Swarm service to roll back: the exact name, else the stack service <appName>_<appName>' }),
  wait: Type.Optional(Type.Boolean({ default: true, description: 'wait for Swarm to finish the rollback before answering' }))
}, { additionalProperties: false, description: 'Put back the spec Swarm kept from before the last update (docker service rollback)' })
