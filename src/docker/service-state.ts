import { DockerFailed } from '../errors.js'

/*
 * What the updater reads of a Swarm service: Docker's `service inspect` JSON turned into a
 * ServiceState (src/docker/swarm.ts runs the commands).
 */

/** The parts of `docker service inspect` the updater reads. */
export interface ServiceState {
  id: string
  name: string
  version: number
  image: string
  /** undefined for global or job services */
  replicas?: number
  forceUpdate: number
  labels: Record<string, string>
  updateStatus?: UpdateStatus
  /** placement constraints (`node.labels.zone==a`, `node.platform.arch!=arm64` …) */
  constraints?: string[]
  /** the image of Swarm's PreviousSpec: what `docker service rollback` restores (absent: never updated) */
  previousImage?: string
}

/** Swarm's UpdateStatus; absent before the first update. */
export interface UpdateStatus {
  state: string
  startedAt?: string
  completedAt?: string
  message?: string
}

/** `docker service inspect`'s JSON, as far as it is read. */
export interface RawService {
  ID: string
  Version: { Index: number }
  Spec: {
    Name: string
    Labels?: Record<string, string> | null
    Mode?: { Replicated?: { Replicas?: number } }
    TaskTemplate: { ForceUpdate?: number, ContainerSpec?: { Image?: string }, Placement?: { Constraints?: string[] | null } }
  }
  UpdateStatus?: { State?: string, StartedAt?: string, CompletedAt?: string, Message?: string } | null
  PreviousSpec?: { TaskTemplate?: { ContainerSpec?: { Image?: string } } } | null
}

/** One service of `docker service inspect`; Docker's answer without an ID, name or version is Docker's failure (502). */
export function toServiceState (raw: RawService): ServiceState {
  if (typeof raw?.ID !== 'string' || typeof raw.Spec?.Name !== 'string' || typeof raw.Version?.Index !== 'number') {
    throw new DockerFailed('unreadable answer from docker service inspect')
  }
  const status = raw.UpdateStatus
  const replicas = raw.Spec.Mode?.Replicated?.Replicas
  const previousImage = raw.PreviousSpec?.TaskTemplate?.ContainerSpec?.Image
  const constraints = raw.Spec.TaskTemplate.Placement?.Constraints
  return {
    id: raw.ID,
    name: raw.Spec.Name,
    version: raw.Version.Index,
    image: raw.Spec.TaskTemplate.ContainerSpec?.Image ?? '',
    ...(replicas !== undefined && { replicas }),
    forceUpdate: raw.Spec.TaskTemplate.ForceUpdate ?? 0,
    labels: raw.Spec.Labels ?? {},
    ...(typeof previousImage === 'string' && previousImage !== '' && { previousImage }),
    ...(Array.isArray(constraints) && constraints.length > 0 && { constraints: constraints.filter((c) => typeof c === 'string') }),
    ...(status?.State !== undefined && {
      updateStatus: {
        state: status.State,
        ...(status.StartedAt !== undefined && { startedAt: status.StartedAt }),
        ...(status.CompletedAt !== undefined && { completedAt: status.CompletedAt }),
        ...(status.Message !== undefined && { message: status.Message })
      }
    })
  }
}
