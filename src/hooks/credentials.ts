import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Constant-time equality of two secrets of any length: both sides are hashed first, so neither
 * the comparison time nor an early length check tells a caller how much of its guess was right.
 */
export function secretsEqual (given: string | Buffer, expected: string | Buffer): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/**
 * GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the exact body bytes>`, keyed with the
 * webhook secret. The raw bytes are what GitHub signed: re-serialised JSON would not verify.
 * @see https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
 */
export function validGithubSignature (rawBody: Buffer, header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== 'string' || !/^sha256=[0-9a-fA-F]{64}$/.test(header)) return false
  const expected = createHmac('sha256', secret).update(rawBody).digest()
  return timingSafeEqual(Buffer.from(header.slice(7).toLowerCase(), 'hex'), expected)
}

/**
 * Gitea's `X-Gitea-Signature` and Forgejo's `X-Forgejo-Signature`: the bare lowercase hex
 * HMAC-SHA256 of the exact body bytes, keyed with the webhook's secret (no `sha256=` prefix).
 * @see https://forgejo.org/docs/latest/user/webhooks/
 */
export function validHexSignature (rawBody: Buffer, header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== 'string' || !/^[0-9a-fA-F]{64}$/.test(header)) return false
  const expected = createHmac('sha256', secret).update(rawBody).digest()
  return timingSafeEqual(Buffer.from(header.toLowerCase(), 'hex'), expected)
}
