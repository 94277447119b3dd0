/**
 * What a token may do (docs/API.md, "Tokens"): the `access` claim. `read` may only read (GET and
 * HEAD), `deploy` (the default) may also update and roll back, `admin` may also force past a
 * window or freeze. Scope (`services`) applies to every level.
 */
export const ACCESS_LEVELS = ['read', 'deploy', 'admin'] as const
export type Access = typeof ACCESS_LEVELS[number]
export const DEFAULT_ACCESS: Access = 'deploy'

const rank: Record<Access, number> = { read: 0, deploy: 1, admin: 2 }

export const isAccess = (value: unknown): value is Access => typeof value === 'string' && Object.hasOwn(rank, value)

/** Does `granted` include what `needed` allows? */
export const allows = (granted: Access, needed: Access): boolean => rank[granted] >= rank[needed]

/** The higher of two levels. */
export const higher = (a: Access, b: Access): Access => rank[a] >= rank[b] ? a : b

/** Methods that change nothing: the only ones a `read` token may call. */
export const isReadMethod = (method: string): boolean => method === 'GET' || method === 'HEAD'
