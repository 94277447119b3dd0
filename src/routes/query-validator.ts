import { Ajv, type Options } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'

/**
 * Query strings are text: `?limit=5` is the string "5", and the app-wide ajv (no coercion, so a
 * JSON body's "5" is never taken for 5) refused it as "must be integer". Routes that take a query
 * string use this compiler: the query string is coerced as its schema says (integers, booleans,
 * defaults); every other part is validated as strictly as the app-wide ajv does (src/app.ts).
 */
const shared: Options = { removeAdditional: false, useDefaults: true, allErrors: false }
const coercing = withFormats(new Ajv({ ...shared, coerceTypes: true }))
const strict = withFormats(new Ajv({ ...shared, coerceTypes: false }))

/**
 * RFC 3339 date-time, as ajv-formats checks it for the app-wide ajv (a leap second included: the
 * route answers what no date parser reads with its own CU_INVALID_SINCE).
 */
const dateTime = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/

function withFormats (ajv: Ajv): Ajv {
  return ajv.addFormat('date-time', { type: 'string', validate: (text: string) => dateTime.test(text) })
}

export const queryValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'querystring' ? coercing : strict).compile(schema as object)
