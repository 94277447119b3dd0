/**
 * Name rules checked before anything reaches Docker.
 *
 * Swarm's own rule is `^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$` (at most 63 characters). Its nested
 * quantifiers backtrack catastrophically on inputs such as `a________…!`, so we use the equivalent
 * language without nesting: alphanumeric runs separated by runs of `-`/`_` (see docs/API.md §1).
 */
export const SERVICE_NAME_PATTERN = '^[A-Za-z0-9]+(?:[-_]+[A-Za-z0-9]+)*$'
export const SERVICE_NAME_MAX_LENGTH = 63

/** Docker's tag grammar: `[\w][\w.-]{0,127}`. */
export const TAG_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'

const serviceNameRe = new RegExp(SERVICE_NAME_PATTERN)
const tagRe = new RegExp(TAG_PATTERN)

export function isValidServiceName (name: unknown): name is string {
  return typeof name === 'string' && name.length <= SERVICE_NAME_MAX_LENGTH && serviceNameRe.test(name)
}

export function isValidTag (tag: unknown): tag is string {
  return typeof tag === 'string' && tagRe.test(tag)
}

/**
 * The names a request may refer to, in resolution order: the exact service name, then the
 * `docker stack deploy` convention `<stack>_<service>` with both parts equal to appName.
 */
export function candidateServiceNames (appName: string): string[] {
  const stackName = `${appName}_${appName}`
  return stackName.length <= SERVICE_NAME_MAX_LENGTH ? [appName, stackName] : [appName]
}
