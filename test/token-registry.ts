import { execFile } from 'node:child_process'
import { createHash, createPrivateKey, createSign, randomBytes, X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { appRootfs, type AppKind } from './app-image.ts'
import { serveRegistry } from './registry-process.ts'
import { freePort, until } from './swarm-fixtures.ts'

/**
 * A Debian `docker-registry` (CNCF Distribution 2.8) behind a token realm, as Docker Hub, GHCR or
 * Harbor are: the registry answers 401 with `Bearer realm=…,service=…,scope=…` and verifies the JWTs
 * itself (`auth: token`, its `rootcertbundle`). The realm is served here on 127.0.0.1: it takes Basic
 * credentials (only the ones in the Docker config this fixture writes), and signs RS256 tokens with a
 * self-signed certificate made at start with the machine's `openssl`, carried in the `x5c` header as
 * distribution's registry/auth/token expects (plus the libtrust `kid` of the key). Anonymous token
 * requests are refused, so only a client holding the fixture's credentials gets 200s: other
 * engineers' updaters sharing the Swarm cannot blur the counts of the registry's access log.
 *
 * The registry logs every request at info level; its access log (combined format, stdout) is kept
 * and parsed, so tests count what the registry really served, not what a client says it sent.
 */
const exec = promisify(execFile)

export interface TokenRequest { user: string | undefined, scope: string | null, service: string | null, granted: boolean }
export interface AccessEntry { method: string, path: string, status: number, agent: string }

export interface TokenRegistry {
  /** host:port of the registry */
  address: string
  /** every request the realm answered, in order */
  tokenRequests: TokenRequest[]
  /** a directory with a config.json holding the registry's credentials (DOCKER_CONFIG) */
  dockerConfig: string
  /** what the registry's access log shows so far, after a marker request has been logged */
  accessLog: () => Promise<AccessEntry[]>
  /** also holds the credentials for `address` (a proxy in front of this registry) in the Docker config */
  allow: (address: string) => Promise<void>
  /** `docker import` + `docker push` of the tests' tiny app image with the fixture's credentials */
  push: (repo: string, tag: string, kind?: AppKind) => Promise<{ digest: string, version: string }>
  stop: () => Promise<void>
}

export interface TokenRegistryOptions {
  /** `expires_in` of the tokens handed out (seconds) */
  tokenSeconds?: number
}

const service = 'cu-test-registry'
const issuer = 'cu-test-token-issuer'

/** libtrust's key ID (distribution's `kid`): SHA-256 of the DER public key, 240 bits, base32 in groups of 4. */
export function libtrustKeyId (cert: X509Certificate): string {
  const der = cert.publicKey.export({ type: 'spki', format: 'der' })
  const hash = createHash('sha256').update(der).digest().subarray(0, 30)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const byte of hash) bits += byte.toString(2).padStart(8, '0')
  let text = ''
  for (let i = 0; i < bits.length; i += 5) text += alphabet[parseInt(bits.slice(i, i + 5), 2)]
  return text.match(/.{4}/g)!.join(':')
}

const accessLine = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) \S+ "[^"]*" "([^"]*)"/

export async function startTokenRegistry (t: { after: (fn: () => Promise<unknown>) => void }, options: TokenRegistryOptions = {}): Promise<TokenRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'cu-token-registry-'))
  const cleanups: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })]
  t.after(async () => { for (const fn of cleanups.reverse()) await fn().catch(() => {}) })

  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '2', '-subj', `/CN=${issuer}`], { timeout: 60_000 })
  const cert = new X509Certificate(await readFile(join(dir, 'cert.pem')))
  const key = createPrivateKey(await readFile(join(dir, 'key.pem')))
  const header = { typ: 'JWT', alg: 'RS256', kid: libtrustKeyId(cert), x5c: [cert.raw.toString('base64')] }
  const user = 'cu-watch'
  const password = randomBytes(12).toString('hex')
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

  const tokenRequests: TokenRequest[] = []
  const realm = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://realm.invalid')
    const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    const [name, secret] = basic === undefined ? [] : Buffer.from(basic, 'base64').toString('utf8').split(':')
    const granted = name === user && secret === password
    tokenRequests.push({ user: name, scope: url.searchParams.get('scope'), service: url.searchParams.get('service'), granted })
    if (!granted) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}')
      return
    }
    const now = Math.floor(Date.now() / 1000)
    // `repository:<name>:pull,push`: everything asked is granted to the fixture's user.
    const access = url.searchParams.getAll('scope').flatMap((scope) => {
      const match = /^(repository):(.+):([a-z,*]+)$/.exec(scope)
      return match === null ? [] : [{ type: match[1], name: match[2], actions: match[3]!.split(',') }]
    })
    const seconds = options.tokenSeconds ?? 300
    const claims = { iss: issuer, sub: user, aud: service, exp: now + seconds, nbf: now - 5, iat: now, jti: randomBytes(8).toString('hex'), access }
    const input = `${b64(header)}.${b64(claims)}`
    const token = `${input}.${createSign('RSA-SHA256').update(input).sign(key).toString('base64url')}`
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: seconds, issued_at: new Date(now * 1000).toISOString() }))
  })
  realm.listen(0, '127.0.0.1')
  await once(realm, 'listening')
  cleanups.push(() => new Promise((resolve) => { realm.closeAllConnections(); realm.close(resolve) }))
  const realmUrl = `http://127.0.0.1:${(realm.address() as { port: number }).port}/token`

  const address = `127.0.0.1:${await freePort()}`
  await writeFile(join(dir, 'config.yml'), JSON.stringify({
    version: 0.1,
    log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
    http: { addr: address },
    auth: { token: { realm: realmUrl, service, issuer, rootcertbundle: join(dir, 'cert.pem') } }
  }))
  const auths: Record<string, { auth: string }> = {}
  const allow = async (host: string): Promise<void> => {
    auths[host] = { auth: Buffer.from(`${user}:${password}`).toString('base64') }
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths }))
  }
  await allow(address)

  const entries: AccessEntry[] = []
  let partial = ''
  const { stderr, stop } = serveRegistry(join(dir, 'config.yml'), (chunk) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop()!
    for (const line of lines) {
      const match = accessLine.exec(line)
      if (match !== null) entries.push({ method: match[1]!, path: match[2]!, status: Number(match[3]), agent: match[4]! })
    }
  })
  cleanups.push(stop)
  await until('the token registry to answer', async () => {
    try {
      return (await fetch(`http://${address}/v2/`)).status === 401 ? true : undefined
    } catch {
      return undefined
    }
  }, 30_000).catch((error: Error) => { throw new Error(`${error.message}; registry said: ${stderr()}`) })

  let markers = 0
  const accessLog = async (): Promise<AccessEntry[]> => {
    // Requests are logged when answered: once a marker sent now shows, everything before it has.
    const marker = `/v2/cu-marker-${markers++}/tags/list`
    await fetch(`http://${address}${marker}`).then(async (r) => { await r.body?.cancel() })
    await until('the marker in the registry access log', () => entries.some((e) => e.path === marker) ? true : undefined, 30_000, 20)
    return entries.filter((e) => !e.path.startsWith('/v2/cu-marker-'))
  }

  const push = async (repo: string, tag: string, kind: AppKind = 'good'): Promise<{ digest: string, version: string }> => {
    const work = await mkdtemp(join(tmpdir(), 'cu-image-'))
    const ref = `${address}/${repo}:${tag}`
    const env = { ...process.env, DOCKER_CONFIG: dir }
    try {
      const { tar, version } = await appRootfs(work, tag, kind)
      await exec('docker', ['import', '-c', 'CMD ["/bin/app"]', tar, ref], { env, timeout: 120_000 })
      const { stdout } = await exec('docker', ['push', ref], { env, timeout: 120_000 })
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(stdout)?.[1]
      if (digest === undefined) throw new Error(`no digest in docker push output: ${stdout}`)
      return { digest, version }
    } finally {
      await exec('docker', ['image', 'rm', ref], { env }).catch(() => {})
      await rm(work, { recursive: true, force: true })
    }
  }

  return { address, tokenRequests, dockerConfig: dir, accessLog, allow, push, stop }
}
