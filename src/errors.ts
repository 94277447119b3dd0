import { STATUS_CODES } from 'node:http'
import createError from '@fastify/error'

/**
 * Every domain error of the service: a stable code, an HTTP status, and a message written for the
 * caller (5xx messages name the cause an operator can act on, never internals or stacks).
 */
// CU_UNAUTHORIZED (401) and CU_TOO_MANY_AUTH_FAILURES (429) are answered by the auth plugin
// directly, without an Error (a body made once, errorBody below): that path must stay cheap under a
// flood of bad tokens. CU_ROUTE_NOT_FOUND is the not-found handler's (app.ts).
export const answerCodes = {
  unauthorized: 'CU_UNAUTHORIZED',
  tooManyAuthFailures: 'CU_TOO_MANY_AUTH_FAILURES',
  routeNotFound: 'CU_ROUTE_NOT_FOUND'
} as const
export const Forbidden = createError<[string]>('CU_FORBIDDEN', 'This token may not update service %s', 403)
/** The token's `access` claim does not allow this (src/auth/access.ts): a read token writing, a deploy token forcing. */
export const AccessDenied = createError<[string, string]>('CU_ACCESS_DENIED', 'This token has %s access: %s', 403)
/** An explicit update outside the service's update window (engine/gates/window-gate.ts); the answer carries opensAt and Retry-After. */
export const OutsideWindow = createError<[string, string, string]>('CU_OUTSIDE_WINDOW', 'Service %s is outside its update window (%s); it opens at %s. An admin token may send "force": true', 423)
/** An explicit update of a service under a freeze (engine/gates/freezes.ts); the answer names the freeze and its reason. */
export const Frozen = createError<[string, string, string, string]>('CU_FROZEN', 'Service %s is frozen by freeze %s until %s: %s. An admin token may send "force": true', 423)
/** POST /updates/:id/approve or /reject on an update that is not waiting for approval (any more). */
export const NotPending = createError<[string, string]>('CU_NOT_PENDING', 'Update %s is not waiting for approval: it is %s', 409)
export const FreezeNotFound = createError<[string]>('CU_FREEZE_NOT_FOUND', 'No such freeze: %s', 404)
/** The service's container-updater.window label cannot be read: no update starts until it is fixed. */
export const InvalidWindow = createError<[string, string]>('CU_INVALID_WINDOW', 'Service %s: %s', 409)
/** POST /rollback of a service Swarm has no PreviousSpec for (never updated): nothing to roll back to. */
export const NoPreviousSpec = createError<[string]>('CU_NO_PREVIOUS_SPEC', 'Service %s has no previous spec to roll back to (Swarm keeps one only after an update)', 409)
/** Pre-flight (engine/gates/preflight.ts): no node the service may run on can run the target image. */
export const NoSuitableNode = createError<[string, string]>('CU_NO_SUITABLE_NODE', 'No node can run the new image of service %s: %s', 409)
export const ServiceNotEnabled = createError<[string, string]>('CU_SERVICE_NOT_ENABLED', 'Service %s does not carry the label %s that allows updates', 403)
export const InvalidServiceName = createError<[string]>('CU_INVALID_SERVICE_NAME', 'Invalid service name %s', 400)
export const InvalidTag = createError<[string]>('CU_INVALID_TAG', 'Invalid image tag %s', 400)
export const ImagePinnedByDigest = createError<[string]>('CU_IMAGE_PINNED_BY_DIGEST', 'Service %s runs an image pinned by digest without a tag; pass "tag" to choose one', 400)
export const InvalidTarget = createError<[string]>('CU_INVALID_TARGET', '%s', 400)
export const NoTargetAllowed = createError<[string]>('CU_NO_SERVICE_ENABLED', 'No service of %s carries the label that allows updates', 403)
export const BatchNotFound = createError<[string]>('CU_BATCH_NOT_FOUND', 'No such batch: %s', 404)
export const ServiceNotFound = createError<[string]>('CU_SERVICE_NOT_FOUND', 'No such service: %s', 404)
export const UpdateNotFound = createError<[string]>('CU_UPDATE_NOT_FOUND', 'No such update: %s', 404)
export const DockerUnavailable = createError<[string]>('CU_DOCKER_UNAVAILABLE', 'Docker is unavailable: %s', 503)
export const DockerPermissionDenied = createError<[string]>('CU_DOCKER_PERMISSION_DENIED', 'Permission denied on the Docker socket: %s', 503)
export const NotSwarmManager = createError('CU_NOT_SWARM_MANAGER', 'This Docker node is not a Swarm manager: run the updater on a manager node', 503)
export const UiNotBuilt = createError('CU_UI_NOT_BUILT', 'The dashboard\'s script is not built: run npm run build (or npm run build:ui)', 503)
export const DockerTimeout = createError<[string]>('CU_DOCKER_TIMEOUT', 'Docker did not answer in time: %s', 504)
export const DockerFailed = createError<[string]>('CU_DOCKER_FAILED', 'Docker failed: %s', 502)
export const ShuttingDown = createError('CU_SHUTTING_DOWN', 'The updater is shutting down; retry on another instance', 503)
/** Internal: another client changed the service between our read and our write. Retried. */
export const OutOfSequence = createError<[string]>('CU_OUT_OF_SEQUENCE', 'Service changed concurrently: %s', 409)
/** Internal: the engine tried a state change its transition table (engine/transitions.ts) forbids: a bug. */
export const IllegalTransition = createError<[string, string, string]>('CU_ILLEGAL_TRANSITION', 'Update %s may not move from %s to %s', 500)
/** Rejects the waiters still pending when the events stream is stopped (or waitFor is called on a stopped stream). */
export const EventStreamStopped = createError('CU_EVENTS_STOPPED', 'The Docker events stream is stopped', 503)
/** The record store failed (store/store-errors.ts says how, in one line an operator can act on). */
export const StoreUnavailable = createError<[string, { cause: unknown }?]>('CU_STORE_UNAVAILABLE', 'The record store is unavailable: %s', 503)
export const InvalidCursor = createError('CU_INVALID_CURSOR', 'Invalid cursor: pass the nextCursor of a previous page unchanged', 400)
export const InvalidSince = createError<[string]>('CU_INVALID_SINCE', 'Invalid since %s: expected an ISO date-time', 400)

/**
 * Fields an error adds to its body (its status's schema names them, e.g. a 423's `opensAt`) and
 * headers it sets (`Retry-After`); the app's error handler sends both.
 */
export interface ErrorExtras { details?: Record<string, unknown>, headers?: Record<string, string> }

export function withExtras<E extends Error> (error: E, extras: ErrorExtras): E & ErrorExtras {
  return Object.assign(error, extras)
}

/** The shape of every error answer (docs/API.md; the ErrorReply schema), built in this one place. */
export interface ErrorBody<S extends number = number> { statusCode: S, error: string, message: string, code?: string }

export function errorBody<S extends number> (statusCode: S, message: string, code?: string): ErrorBody<S> {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(code !== undefined && { code }) }
}
export const QuarantineNotFound = createError<[string]>('CU_QUARANTINE_NOT_FOUND', 'Service %s has no quarantined digest', 404)
