import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ServiceState } from '../docker/swarm.js'
import { ShuttingDown } from '../errors.js'
import { httpStatusFor } from './state-answers.js'

/** A submitted job, as the engine gives it (routes import nothing of the engine: app.engine is the seam). */
type Submitted = ReturnType<FastifyInstance['engine']['update']>

/**
 * The answer to a POST that submitted one job (POST /update of one service, POST /rollback): its
 * record at once with 202 when the caller does not wait, or when the service is the updater's own
 * (Swarm stops this process to replace it); else the final record with the status of its state, or
 * the domain error of a failed job (409, 502, 503 …) and ShuttingDown for a cancelled one.
 */
export async function answerJob (app: FastifyInstance, reply: FastifyReply, service: ServiceState, job: Submitted, wait: boolean | undefined): Promise<FastifyReply> {
  if (wait === false || app.engine.isSelf(service)) return reply.code(202).send(job.record)
  const answer = await job.wait()
  if (answer.record.status === 'failed' && answer.error !== undefined) throw answer.error
  if (answer.record.status === 'cancelled') throw answer.error ?? new ShuttingDown()
  return reply.code(httpStatusFor(answer.record.status)).send(answer.record)
}
