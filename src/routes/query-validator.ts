import { Ajv, type Options } from 'ajv'
import ajvFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

/**
 * Query strings are text: `?limit=5` is the string "5", and the app-wide ajv (no coercion, so a
 * JSON body's "5" is never taken for 5) refused it as "must be integer". Routes that take a query
 * string use this compiler: the query string is coerced as its schema says (integers, booleans,
 * defaults); every other part is validated as strictly as the app-wide ajv does (src/app.ts).
 * Formats (`date-time`: RFC 3339, a leap second included, which the route then answers with its own
 * CU_INVALID_SINCE since no date parser reads it) are ajv-formats', as Fastify's own ajv has them.
 */
// A CommonJS module: its plugin is `default` of what ESM imports (the same function at run time).
const addFormats = ajvFormats.default
const shared: Options = { removeAdditional: false, useDefaults: true, allErrors: false }
const coercing = addFormats(new Ajv({ ...shared, coerceTypes: true }))
const strict = addFormats(new Ajv({ ...shared, coerceTypes: false }))

export const queryValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'querystring' ? coercing : strict).compile(schema as object)
