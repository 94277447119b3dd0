import type { SwarmNode } from '../../docker/swarm-nodes.js'
import type { ImagePlatform } from '../../docker/registry-platforms.js'

/**
 * Where Swarm may put a service's tasks, computed as swarmkit does (manager/constraint): pure, so
 * that the pre-flight (preflight.ts) can be read and tested without Docker.
 * - a constraint is `key==value` or `key!=value`; values compare case-insensitively;
 * - keys: node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.X,
 *   engine.labels.X; a label a node lacks fails `==` and passes `!=`;
 * - a key we do not know (node.ip, a newer one) is not held against any node: the pre-flight
 *   refuses only what it can tell.
 */
export interface Constraint { key: string, equal: boolean, value: string, text: string }

export function parseConstraint (text: string): Constraint | undefined {
  const match = /^\s*([\w.-]+)\s*(==|!=)\s*(.*?)\s*$/.exec(text)
  if (match === null) return undefined
  return { key: match[1]!, equal: match[2] === '==', value: match[3]!, text: text.trim() }
}

/** The node's values for a key, or undefined when the key is not one we evaluate. */
function valueOf (node: SwarmNode, key: string): string | null | undefined {
  const lower = key.toLowerCase()
  if (lower === 'node.id') return node.id
  if (lower === 'node.hostname') return node.hostname
  if (lower === 'node.role') return node.role
  if (lower === 'node.platform.os') return node.os
  if (lower === 'node.platform.arch') return node.architecture
  if (lower.startsWith('node.labels.')) return Object.hasOwn(node.labels, key.slice(12)) ? node.labels[key.slice(12)]! : null
  if (lower.startsWith('engine.labels.')) return Object.hasOwn(node.engineLabels, key.slice(14)) ? node.engineLabels[key.slice(14)]! : null
  return undefined
}

/** Does the node satisfy the constraint? (true for keys we do not evaluate) */
export function satisfies (node: SwarmNode, constraint: Constraint): boolean {
  const value = valueOf(node, constraint.key)
  if (value === undefined) return true
  const same = value !== null && value.toLowerCase() === constraint.value.toLowerCase()
  return constraint.equal ? same : !same
}

/** Docker's architecture names (uname's, on nodes) as OCI's (images). */
export function normalizeArch (arch: string): string {
  const lower = arch.toLowerCase()
  const names: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armv7l: 'arm', armv6l: 'arm', armhf: 'arm', armel: 'arm', i386: '386', i686: '386' }
  return names[lower] ?? lower
}

export const platformName = (p: ImagePlatform): string => `${p.os}/${p.architecture}${p.variant !== undefined ? `/${p.variant}` : ''}`
export const nodePlatform = (node: SwarmNode): string => `${node.os.toLowerCase()}/${normalizeArch(node.architecture)}`

/** Can a node run one of these platforms (os and architecture; variants are left to Docker)? */
export function runsAny (node: SwarmNode, platforms: readonly ImagePlatform[]): boolean {
  return platforms.some((p) => p.os.toLowerCase() === node.os.toLowerCase() && normalizeArch(p.architecture) === normalizeArch(node.architecture))
}

/**
 * The nodes a service's tasks may go to: active, ready, and satisfying every constraint; or, when
 * there are none, why each node is out (for the 409's message).
 */
export function eligibleNodes (nodes: readonly SwarmNode[], constraints: readonly string[]): { eligible: SwarmNode[], excluded: string[] } {
  const parsed = constraints.map(parseConstraint).filter((c): c is Constraint => c !== undefined)
  const eligible: SwarmNode[] = []
  const excluded: string[] = []
  for (const node of nodes) {
    const name = node.hostname !== '' ? node.hostname : node.id
    if (node.availability.toLowerCase() !== 'active') excluded.push(`${name}: availability ${node.availability}`)
    else if (node.state.toLowerCase() !== 'ready') excluded.push(`${name}: ${node.state}`)
    else {
      const failed = parsed.filter((c) => !satisfies(node, c))
      if (failed.length > 0) excluded.push(`${name}: fails ${failed.map((c) => c.text).join(', ')}`)
      else eligible.push(node)
    }
  }
  return { eligible, excluded }
}
