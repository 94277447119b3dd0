/**
 * How a configuration schema error reads for an operator (src/config.ts): the variable, what it was
 * given (never a secret's value), what it accepts, and the variable's description for a pattern.
 */

/** A configuration the process cannot start with; its message is one line for operators. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Variables whose values are secrets: an error names them but never repeats what they hold. */
const secretVariable = /SECRET|TOKEN|NOTIFY_URLS/

/** One error as env-schema (Ajv) reports it. */
export interface EnvError { instancePath: string, keyword: string, message?: string, params: Record<string, unknown> }

/** One schema error as an operator reads it: the variable, what it was given, what it accepts. */
export function describeEnvError (error: EnvError, data: Record<string, unknown>, properties: Record<string, { description?: string }>): string {
  const name = error.instancePath.replace(/^\//, '')
  const given = name in data && !secretVariable.test(name) ? `=${JSON.stringify(data[name])}` : ''
  const { allowedValues, pattern, limit } = error.params
  let rule = error.message ?? 'is invalid'
  if (error.keyword === 'enum' && Array.isArray(allowedValues)) rule = `must be one of ${allowedValues.join(', ')}`
  else if (error.keyword === 'type' && error.params.type === 'boolean') rule = 'must be true or false'
  else if (error.keyword === 'type' && error.params.type === 'integer') rule = 'must be a whole number'
  else if (error.keyword === 'minimum' || error.keyword === 'maximum') rule = `must be ${error.keyword === 'minimum' ? '≥' : '≤'} ${String(limit)}`
  else if (error.keyword === 'pattern') rule = `must match ${String(pattern)}`
  const schema = properties[name]
  const hint = error.keyword === 'pattern' && schema?.description !== undefined ? ` (${schema.description})` : ''
  return `${name}${given} ${rule}${hint}`
}
