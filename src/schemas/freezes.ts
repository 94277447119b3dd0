import { Type } from '@sinclair/typebox'

/** A service name or a glob (`*` any run of characters), as in a token's `services` claim. */
const servicePattern = Type.String({ pattern: '^[A-Za-z0-9*][A-Za-z0-9_.*-]{0,127}$', description: 'a service name, or a glob where `*` stands for any run of characters (as in a token\'s scope)' })

export const FreezeBody = Type.Object({
  services: Type.Array(servicePattern, { minItems: 1, maxItems: 50, description: 'the services frozen' }),
  until: Type.String({ format: 'date-time', description: 'when the freeze ends by itself (in the future, at most a year ahead)' }),
  reason: Type.String({ minLength: 1, maxLength: 500, description: 'why: told to callers refused 423 CU_FROZEN and in notifications' })
}, { additionalProperties: false })

export const FreezeSchema = Type.Object({
  freezeId: Type.String({ format: 'uuid' }),
  services: Type.Array(Type.String()),
  until: Type.String({ format: 'date-time' }),
  reason: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.Optional(Type.String({ description: "the admin token's subject" }))
}, { $id: 'Freeze', description: 'A freeze in force: automatic updates of its services are held, explicit ones refused 423 CU_FROZEN unless forced' })

export const FreezeList = Type.Object({
  freezes: Type.Array(Type.Ref(FreezeSchema))
}, { $id: 'FreezeList' })

export const FreezeParams = Type.Object({
  freezeId: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' })
}, { additionalProperties: false })
