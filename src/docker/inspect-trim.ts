import type { RawService } from './service-state.js'

/**
 * Of `docker service inspect`'s JSON, only what a ServiceState is made of (./service-state.ts reads
 * these paths and no other): run by the spawn helper (./spawner-child.ts) on the answers of the
 * listing, so the updater's event loop parses that, not Docker's whole answer. A real service is
 * about 3 KB of JSON, its ServiceState's fields about 300 bytes; for 500 services the whole answer
 * took 3–16 ms to parse in one piece (docs/BENCHMARKS.md). No imports at run time: the helper
 * stays small.
 */
type Shape = true | { [key: string]: Shape }
/** Every path of T, maps and arrays kept whole: a field added to RawService must be added here. */
type ShapeOf<T> = { [K in keyof T]-?: ShapeField<NonNullable<T[K]>> }
type ShapeField<V> = V extends readonly unknown[] ? true : V extends object ? (string extends keyof V ? true : ShapeOf<V>) : true

const SHAPE = {
  ID: true,
  Version: { Index: true },
  Spec: {
    Name: true,
    Labels: true,
    Mode: { Replicated: { Replicas: true } },
    TaskTemplate: { ForceUpdate: true, ContainerSpec: { Image: true }, Placement: { Constraints: true } }
  },
  UpdateStatus: { State: true, StartedAt: true, CompletedAt: true, Message: true },
  PreviousSpec: { TaskTemplate: { ContainerSpec: { Image: true } } }
} satisfies ShapeOf<RawService>

/** `value` with only the paths of `shape`; anything that is not an object where the shape has one is kept as it is. */
function keep (value: unknown, shape: Shape): unknown {
  if (shape === true || value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(shape)) if (Object.hasOwn(value, key)) out[key] = keep((value as Record<string, unknown>)[key], inner)
  return out
}

/** The services of `stdout` with only the fields read; `stdout` itself when it is not a JSON array (the updater reports it as Docker's). */
export function trimServices (stdout: string): string {
  try {
    const services: unknown = JSON.parse(stdout)
    return Array.isArray(services) ? JSON.stringify(services.map((s) => keep(s, SHAPE))) : stdout
  } catch {
    // Not JSON, or nothing the helper should fail on (a CLI wrapper's odd answer): the whole answer.
    return stdout
  }
}
