import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { Ajv, type ValidateFunction } from 'ajv'

const validators = new WeakMap<object, Map<string, ValidateFunction>>()

/**
 * Asserts that a body matches the schema the app's OpenAPI document (/docs/json) gives for this
 * route and status: what a client generated from the document would accept.
 */
export function assertDocumented (doc: OpenApiDoc, route: { method: string, path: string }, status: number, body: unknown): void {
  let forDoc = validators.get(doc)
  if (forDoc === undefined) {
    forDoc = new Map()
    validators.set(doc, forDoc)
  }
  const key = `${route.method} ${route.path} ${status}`
  let validate = forDoc.get(key)
  if (validate === undefined) {
    const response = doc.paths[route.path]?.[route.method.toLowerCase()]?.responses?.[String(status)]
    assert.ok(response !== undefined, `${key} is documented`)
    // The document is OpenAPI 3.0: `nullable` and `format` are annotations ajv is told about.
    const ajv = new Ajv({ strict: false, allErrors: true, formats: { uuid: true, 'date-time': true } })
    ajv.addSchema({ ...doc, $id: 'openapi' })
    validate = ajv.compile({ $ref: `openapi#/paths/${pointer(route.path)}/${route.method.toLowerCase()}/responses/${status}/content/application~1json/schema` })
    forDoc.set(key, validate)
  }
  assert.ok(validate(body), `${key}: the body matches its documented schema: ${JSON.stringify(validate.errors)} ${JSON.stringify(body)}`)
}

const pointer = (path: string): string => path.replace(/~/g, '~0').replace(/\//g, '~1')

export interface OpenApiDoc {
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>
}

export async function openApi (app: FastifyInstance): Promise<OpenApiDoc> {
  return (await app.inject('/docs/json')).json() as OpenApiDoc
}
