import { isIPv4 } from 'node:net'

/**
 * The key failed authentications are counted under. An IPv6 client usually holds a whole /64 (one
 * customer, one LAN) and can pick any address in it at will, so counting per address would give it
 * 2^64 fresh budgets: IPv6 addresses count by their /64. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
 * what a dual-stack socket reports for IPv4 clients) is the IPv4 client it stands for.
 *
 * Never throws: an address it cannot read is its own key.
 */
export function clientKey (ip: string): string {
  if (!ip.includes(':')) return ip
  const hextets = expandIPv6(ip)
  if (hextets === undefined) return ip
  if (hextets[0] === 0 && hextets[1] === 0 && hextets[2] === 0 && hextets[3] === 0 && hextets[4] === 0 && hextets[5] === 0xffff) {
    return `${hextets[6]! >> 8}.${hextets[6]! & 255}.${hextets[7]! >> 8}.${hextets[7]! & 255}`
  }
  return `${hextets[0]!.toString(16)}:${hextets[1]!.toString(16)}:${hextets[2]!.toString(16)}:${hextets[3]!.toString(16)}::/64`
}

const hextetRe = /^[0-9A-Fa-f]{1,4}$/

/** The eight 16-bit groups of an IPv6 address (zone dropped, embedded IPv4 read), or undefined. */
function expandIPv6 (address: string): number[] | undefined {
  const zone = address.indexOf('%')
  const ip = zone === -1 ? address : address.slice(0, zone)
  const halves = ip.split('::')
  if (halves.length > 2) return undefined
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  if (head === undefined || tail === undefined) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  return [...head, ...new Array<number>(missing).fill(0), ...tail]
}

function groups (part: string): number[] | undefined {
  if (part === '') return []
  const out: number[] = []
  const fields = part.split(':')
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!
    if (hextetRe.test(field)) {
      out.push(parseInt(field, 16))
    } else if (i === fields.length - 1 && isIPv4(field)) {
      // The last 32 bits written as a dotted quad (::ffff:192.0.2.1, 64:ff9b::192.0.2.1).
      const [a, b, c, d] = field.split('.').map(Number) as [number, number, number, number]
      out.push((a << 8) | b, (c << 8) | d)
    } else {
      return undefined
    }
  }
  return out
}
