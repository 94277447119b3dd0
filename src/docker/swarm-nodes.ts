import { DockerFailed } from '../errors.js'

/** What the pre-flight needs of a Swarm node (`docker node inspect`). */
export interface SwarmNode {
  id: string
  hostname: string
  /** `manager` or `worker` */
  role: string
  /** `active`, `pause` or `drain` */
  availability: string
  /** `ready`, `down`, `unknown`, `disconnected` */
  state: string
  /** as the engine reports it: `linux`, and `x86_64`, `aarch64` … */
  os: string
  architecture: string
  labels: Record<string, string>
  engineLabels: Record<string, string>
}

interface RawNode {
  ID?: string
  Spec?: { Role?: string, Availability?: string, Labels?: Record<string, string> | null }
  Description?: { Hostname?: string, Platform?: { OS?: string, Architecture?: string }, Engine?: { Labels?: Record<string, string> | null } }
  Status?: { State?: string }
}

/** `docker node inspect`'s JSON → nodes; anything else is Docker's failure (502). */
export function toSwarmNodes (raws: unknown): SwarmNode[] {
  if (!Array.isArray(raws)) throw new DockerFailed('unreadable answer from docker node inspect')
  return (raws as RawNode[]).map((raw) => {
    if (typeof raw?.ID !== 'string') throw new DockerFailed('unreadable answer from docker node inspect')
    return {
      id: raw.ID,
      hostname: raw.Description?.Hostname ?? '',
      role: raw.Spec?.Role ?? '',
      availability: raw.Spec?.Availability ?? '',
      state: raw.Status?.State ?? '',
      os: raw.Description?.Platform?.OS ?? '',
      architecture: raw.Description?.Platform?.Architecture ?? '',
      labels: raw.Spec?.Labels ?? {},
      engineLabels: raw.Description?.Engine?.Labels ?? {}
    }
  })
}
