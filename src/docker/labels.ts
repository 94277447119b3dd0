/**
 * The one reading of a label a service must carry: `key` (present, any value) or `key=value`
 * (exactly that value). UPDATE_REQUIRE_LABEL (the engine's opt-in) and PUSH_LABEL (the hooks')
 * both mean this.
 */
export interface LabelSelector {
  key: string
  /** undefined: any value */
  value: string | undefined
}

/** `key` or `key=value` (the value may be empty, or hold `=`); throws when the key is empty. */
export function parseLabelSelector (text: string): LabelSelector {
  const eq = text.indexOf('=')
  const key = (eq === -1 ? text : text.slice(0, eq)).trim()
  if (key.length === 0) throw new TypeError(`invalid label ${JSON.stringify(text)}: expected key=value`)
  return { key, value: eq === -1 ? undefined : text.slice(eq + 1) }
}

/**
 * Does a service carrying `labels` have the wanted label? Only the service's own labels count:
 * `constructor` or `toString` are not labels of every service.
 */
export function hasLabel (labels: Readonly<Record<string, string>> | undefined, wanted: LabelSelector | string): boolean {
  const { key, value } = typeof wanted === 'string' ? parseLabelSelector(wanted) : wanted
  if (labels === undefined || !Object.hasOwn(labels, key)) return false
  return value === undefined || labels[key] === value
}
