import type { FastifyInstance, FastifyRequest } from 'fastify'

/** May the caller's token see (and update) a service of one of these names? Never throws. */
export function canSee (app: FastifyInstance, request: FastifyRequest, names: readonly string[]): boolean {
  try {
    app.authorizeService(request, names)
    return true
  } catch {
    return false
  }
}
