/** Does a service carry `key` (any value) or exactly `key=value`? */
export function hasLabel (labels: Record<string, string>, wanted: string): boolean {
  const eq = wanted.indexOf('=')
  if (eq === -1) return Object.hasOwn(labels, wanted)
  const key = wanted.slice(0, eq)
  return Object.hasOwn(labels, key) && labels[key] === wanted.slice(eq + 1)
}
