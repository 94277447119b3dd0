import type { FastifyServerOptions } from 'fastify'

/**
 * TRUST_PROXY (as config.ts parses it) as Fastify's trustProxy option.
 *
 * A hop count needs a function: Fastify 5 takes a plain number to mean "trust nothing" (it cannot
 * tell whether the peer is a proxy), while proxy-addr's meaning, kept here, is "the nearest n hops
 * are proxies": with 1, the client is the address the proxy appended, whatever the client wrote to
 * its left. The caveat is Fastify's: a client that reaches the port directly is taken for the
 * proxy, so a list of proxy addresses is the safer setting where the port is reachable otherwise.
 */
export function trustProxyOption (value: boolean | number | string[]): FastifyServerOptions['trustProxy'] {
  if (typeof value !== 'number') return value
  if (value === 0) return false
  return (_address: string, hop: number) => hop < value
}
