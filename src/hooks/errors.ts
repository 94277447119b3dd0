import createError from '@fastify/error'

/** Errors of the registry hooks (the 401s are answered directly, like the auth plugin's). */
export const InvalidHookBody = createError<[string]>('CU_INVALID_HOOK_BODY', 'Invalid webhook body: %s', 400)
