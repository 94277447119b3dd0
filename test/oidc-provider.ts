import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSigner } from 'fast-jwt'
import type { OidcPolicy } from '../src/auth/policy.ts'

/**
 * A local identity provider for the OIDC tests: a JWKS endpoint on 127.0.0.1 (GitHub's path) with
 * an RSA and an EC key the tests generate, and token minting shaped like GitHub Actions tokens.
 */
export interface Provider {
  issuer: string
  audience: string
  /** how many times the JWKS was fetched */
  fetches: () => number
  /** delay every JWKS answer by this many milliseconds */
  setDelay: (ms: number) => void
  sign: (claims?: Record<string, unknown>, options?: { alg?: 'RS256' | 'ES256', kid?: string, key?: KeyObject, header?: Record<string, unknown>, audience?: string }) => string
  publicPem: string
  close: () => Promise<void>
}

export const githubClaims = (overrides: Record<string, unknown> = {}) => ({
  sub: 'repo:acme/web:ref:refs/heads/main',
  repository: 'acme/web',
  ref: 'refs/heads/main',
  environment: 'production',
  job_workflow_ref: 'acme/web/.github/workflows/deploy.yml@refs/heads/main',
  ...overrides
})

export async function startProvider (audience = 'container-updater'): Promise<Provider> {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const keys = [
    { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256', use: 'sig' }
  ]
  let fetches = 0
  let delay = 0
  const server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks') {
      res.writeHead(404).end()
      return
    }
    fetches++
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }))
    }, delay)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    issuer,
    audience,
    fetches: () => fetches,
    setDelay: (ms) => { delay = ms },
    publicPem: rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign (claims = githubClaims(), { alg = 'RS256', kid, key, header, audience: aud = audience } = {}) {
      const signingKey = key ?? (alg === 'RS256' ? rsa.privateKey : ec.privateKey)
      return createSigner({
        key: signingKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        algorithm: alg,
        kid: kid ?? (alg === 'RS256' ? 'rsa-1' : 'ec-1'),
        iss: issuer,
        aud,
        expiresIn: 600_000,
        ...(header !== undefined && { header: { alg, ...header } })
      })(claims)
    },
    async close () {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

/** Writes a policy file and returns its path. */
export function policyFile (policy: OidcPolicy): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cu-policy-')), 'policy.json')
  writeFileSync(file, JSON.stringify(policy))
  return file
}

/** The env that points the updater at this provider with this policy. */
export const oidcEnv = (provider: Provider, policy: OidcPolicy): Record<string, string> => ({
  OIDC_ISSUER: provider.issuer,
  OIDC_AUDIENCE: provider.audience,
  OIDC_POLICY_FILE: policyFile(policy),
  OIDC_JWKS_TIMEOUT: '500'
})
