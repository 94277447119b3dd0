import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { createAuthenticator, type Admission, type Refusal } from '../auth/authenticator.js'
import { clientKey } from '../auth/client-key.js'
import { scopeDecision } from '../auth/scope.js'
import { allows, isReadMethod, type Access } from '../auth/access.js'
import { createTokenVerifier, type AuthFailureReason, type Principal } from '../auth/verifier.js'
import { AccessDenied, Forbidden } from '../errors.js'
import type { Config } from '../config.js'

export type { AuthFailureReason, Principal, Verification } from '../auth/verifier.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * onRequest hook: verifies the bearer token, or answers 401/429 itself. Synchronous (a callback
     * hook, no promise) except while an identity provider's key is fetched.
     */
    authenticate: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
    /** onRequest hook for routes with credentials of their own (webhooks): 429 when the address is limited */
    authLimit: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>
    /** answers 401 for a credential refused by its own check, counted like a bad token */
    refuseCredential: (request: FastifyRequest, reply: FastifyReply, reason: AuthFailureReason, message: string) => FastifyReply
    /** throws 403 CU_ACCESS_DENIED unless the token's access includes `needed` (what it is for: `why`) */
    requireAccess: (request: FastifyRequest, needed: Access, why: string) => void
    /** throws 403 unless the token may update one of these service names */
    authorizeService: (request: FastifyRequest, names: readonly string[]) => void
    /** may the token see (and update) a service of one of these names? For listings: never throws */
    mayUpdate: (request: FastifyRequest, names: readonly string[]) => boolean
    /** true when the token's scope is every service (no `services` claim, JWT_REQUIRE_SCOPE off): listings need no filter */
    seesAllServices: (request: FastifyRequest) => boolean
  }
  interface FastifyRequest {
    principal?: Principal
    /** why authentication failed, for the access log */
    authFailure?: AuthFailureReason
  }
}

export interface AuthOptions {
  config: Config
  onFailure?: (reason: AuthFailureReason) => void
}

/**
 * Bearer-token authentication (src/auth/authenticator.ts) as an onRequest hook, the failed-attempt
 * limiter, the token's access level (a `read` token may only GET), and per-service authorisation
 * from the token's scope (docs/API.md §3). Every verification
 * failure is a 401 with a short reason; the token itself never reaches a log or a message.
 */
async function auth (app: FastifyInstance, { config, onFailure = () => {} }: AuthOptions): Promise<void> {
  const verifier = await createTokenVerifier(config)
  const authenticator = createAuthenticator({
    verifier,
    limit: config.AUTH_FAILURE_LIMIT,
    windowMs: config.AUTH_FAILURE_WINDOW * 1000,
    onFailure,
    onLimited: (client) => app.log.warn({ client, failures: config.AUTH_FAILURE_LIMIT, windowSeconds: config.AUTH_FAILURE_WINDOW }, 'too many failed authentications: address limited')
  })

  // Declared up front so every request object keeps one shape (V8 hidden classes).
  app.decorateRequest('principal', undefined)
  app.decorateRequest('authFailure', undefined)

  /**
   * Answers 401/429 directly rather than throwing: Fastify's error path costs several times a plain
   * reply. The refusal is sent as the JSON made once per message (authenticator.ts), with the error
   * handler's shape, so a flood of bad tokens costs the token check (its MAC first) and a write, and
   * no promise, serialisation or error object. IPv6 clients count by their /64, IPv4-mapped
   * addresses as IPv4 (client-key.ts); the address is Fastify's request.ip (TRUST_PROXY applied).
   */
  app.decorate('authenticate', function authenticate (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const admission = authenticator.admit(request.raw, clientKey(request.ip))
    if (admission instanceof Promise) {
      admission.then((settled) => admitted(request, reply, settled, done), done)
      return
    }
    admitted(request, reply, admission, done)
  })

  app.decorate('authLimit', async function authLimit (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const limited = authenticator.limited(clientKey(request.ip))
    return limited === undefined ? undefined : send(request, reply, limited)
  })

  app.decorate('refuseCredential', function refuseCredential (request: FastifyRequest, reply: FastifyReply, reason: AuthFailureReason, message: string): FastifyReply {
    return send(request, reply, authenticator.refuse(clientKey(request.ip), reason, message))
  })

  app.decorate('requireAccess', function requireAccess (request: FastifyRequest, needed: Access, why: string): void {
    const granted = request.principal?.access ?? 'read'
    if (!allows(granted, needed)) throw new AccessDenied(granted, why)
  })

  app.decorate('authorizeService', function authorizeService (request: FastifyRequest, names: readonly string[]): void {
    const decision = scopeDecision(request.principal, names, config.JWT_REQUIRE_SCOPE)
    if (!decision.allowed) throw new Forbidden(decision.why)
  })

  app.decorate('mayUpdate', function mayUpdate (request: FastifyRequest, names: readonly string[]): boolean {
    return scopeDecision(request.principal, names, config.JWT_REQUIRE_SCOPE).allowed
  })

  app.decorate('seesAllServices', function seesAllServices (request: FastifyRequest): boolean {
    return request.principal?.services === undefined && !config.JWT_REQUIRE_SCOPE
  })
}

/** Lets the request on with its principal, or answers the refusal (then `done` is not called). */
function admitted (request: FastifyRequest, reply: FastifyReply, admission: Admission, done: HookHandlerDoneFunction): void {
  if (admission.ok) {
    request.principal = admission.principal
    // A read token changes nothing, on every route this hook guards (hooks with our tokens included).
    if (admission.principal.access === 'read' && !isReadMethod(request.method)) {
      done(new AccessDenied('read', `${request.method} changes something; only GET and HEAD are allowed`))
      return
    }
    done()
    return
  }
  send(request, reply, admission)
}

function send (request: FastifyRequest, reply: FastifyReply, refusal: Refusal): FastifyReply {
  request.authFailure = refusal.reason
  if (refusal.retryAfter !== undefined) reply.header('retry-after', String(refusal.retryAfter))
  // A string with a JSON content type is sent as it is: the payload was serialised once, up front.
  return reply.code(refusal.body.statusCode).header('content-type', 'application/json; charset=utf-8').send(refusal.payload)
}

export default fp(auth, { fastify: '5.x', name: 'auth' })
