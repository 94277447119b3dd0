import type { IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
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

/**
 * The client address Fastify gives as `request.ip` under this trustProxy option, read from the raw
 * request (the refusal gate answers before Fastify makes a request object): the socket's peer, or
 * with a trusted proxy the nearest untrusted address of X-Forwarded-For, as Fastify computes it
 * (its lib/request.js, with the same proxy-addr). Undefined when the socket is already gone.
 */
export function clientAddressOf (option: FastifyServerOptions['trustProxy']): (raw: IncomingMessage) => string | undefined {
  if (option === undefined || option === false) return (raw) => raw.socket?.remoteAddress
  const trust = option === true
    ? () => true
    : typeof option === 'function'
      ? option
      : typeof option === 'number'
        ? () => false // Fastify 5: a bare hop count trusts nothing (trustProxyOption never gives one)
        : proxyAddr.compile(typeof option === 'string' ? option.split(',').map((it) => it.trim()) : option)
  return (raw) => {
    if (raw.socket?.remoteAddress === undefined) return undefined
    const addresses = proxyAddr.all(raw, trust)
    return addresses[addresses.length - 1]
  }
}
