import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ACCESS_LEVELS } from '../auth/access.js'
import { errorReplies } from '../schemas/update.js'

const WhoamiReply = Type.Object({
  subject: Type.Union([Type.String(), Type.Null()], { description: "the token's sub" }),
  access: Type.Union(ACCESS_LEVELS.map((a) => Type.Literal(a)), { description: 'what the token may do: read, deploy or admin (docs/API.md, "Tokens")' }),
  services: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'the scope (names or globs), as the token or the OIDC policy grants it; null: no scope in the token' }),
  allServices: Type.Boolean({ description: 'true when the token sees every service (no scope, JWT_REQUIRE_SCOPE off)' }),
  expiresAt: Type.String({ format: 'date-time' })
})

/**
 * GET /whoami: what the server makes of the caller's token (its access level and scope), so that
 * the dashboard shows only the actions the token may take. The server's answer, not the token's
 * claims: an OIDC token's access and scope come from the operator's policy, which a browser cannot
 * read. It grants nothing: every route still checks the token itself.
 */
export default async function whoamiRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  app.get('/whoami', {
    onRequest: app.authenticate,
    schema: {
      summary: 'The access level and scope the server grants this token',
      security: [{ bearerAuth: [] }],
      response: { 200: WhoamiReply, ...errorReplies([401, 429]) }
    }
  }, async (request) => {
    const principal = request.principal!
    return {
      subject: principal.subject ?? null,
      access: principal.access,
      services: principal.services ?? null,
      allServices: app.seesAllServices(request),
      expiresAt: new Date(principal.expiresAt * 1000).toISOString()
    }
  })
}
