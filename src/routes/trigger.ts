import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'

/**
 * Who started it, as the caller says: only the dashboard says anything (`ui`); everything else is
 * `api`. The header labels the record and grants nothing (hooks and the watcher set theirs inside).
 */
export const TRIGGER_HEADER = 'x-container-updater-trigger'
export const TriggerHeaders = Type.Object({
  [TRIGGER_HEADER]: Type.Optional(Type.Literal('ui', { description: 'the dashboard sends `ui`, recorded as the record\'s trigger; absent: `api`' }))
})
export const triggerOf = (request: FastifyRequest): 'ui' | 'api' => request.headers[TRIGGER_HEADER] === 'ui' ? 'ui' : 'api'
