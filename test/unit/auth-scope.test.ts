import { test } from 'node:test'
import assert from 'node:assert/strict'
import { globMatches, scopeDecision, serviceAllowed } from '../../src/auth/scope.ts'
import { servicesFor } from '../../src/auth/policy.ts'
import type { Principal } from '../../src/auth/principal.ts'

/** The regex semantics the matcher replaced: `*` is `.*` (dotAll), everything else literal. */
function regexGlob (glob: string, value: string): boolean {
  const body = glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')
  return new RegExp(`^${body}$`, 's').test(value)
}

test('services claim: exact names and * globs, nothing else is special', () => {
  assert.equal(serviceAllowed(['web'], 'web'), true)
  assert.equal(serviceAllowed(['web'], 'web2'), false)
  assert.equal(serviceAllowed(['web*'], 'web_web'), true)
  assert.equal(serviceAllowed(['*_api'], 'shop_api'), true)
  assert.equal(serviceAllowed(['*_api'], 'shop_api2'), false)
  assert.equal(serviceAllowed(['*'], 'anything'), true)
  assert.equal(serviceAllowed(['w.b'], 'web'), false)
  assert.equal(serviceAllowed(['we?'], 'wex'), false)
  assert.equal(serviceAllowed(['(web|api)'], 'web'), false)
  assert.equal(serviceAllowed([], 'web'), false)
  assert.equal(serviceAllowed(['api', 'w*b'], 'web'), true)
})

test('globs mean what the regex meant, on a table of cases', () => {
  const cases: Array<[string, string]> = [
    ['', ''], ['', 'a'], ['*', ''], ['*', 'a/b\nc'], ['**', ''], ['a', 'a'], ['a', 'A'], ['a*', 'a'], ['*a', 'a'], ['*a*', 'a'],
    ['a*a', 'a'], ['a*a', 'aa'], ['a*a', 'aba'], ['ab*ba', 'aba'], ['ab*ba', 'abba'], ['a*b*c', 'abc'], ['a*b*c', 'acb'],
    ['a*b*c', 'aXbYbZc'], ['*b*b*', 'b'], ['*b*b*', 'bb'], ['*ab*ab*', 'abab'], ['*ab*ab*', 'aabb'], ['x*y*z*', 'xyz'],
    ['acme/*', 'acme/web'], ['acme/*', 'acme'], ['*/deploy.yml@*', 'acme/infra/.github/workflows/deploy.yml@refs/tags/v1'],
    ['refs/heads/*', 'refs/heads/main/../x'], ['a.b', 'aXb'], ['a?c', 'abc'], ['[ab]', 'a'], ['a+', 'aa'], ['^a$', 'a'],
    ['\\*', '\\x'], ['a***b', 'ab'], ['*aa', 'a'], ['aa*', 'a'], ['*a*a*a*a*a*a*a*b', 'a'.repeat(30)],
    ['*a*a*a*a*a*a*a*b', 'a'.repeat(30) + 'b'], ['*aba*', 'ababa'], ['*aba*aba*', 'ababa'], ['*aba*aba*', 'abaaba']
  ]
  for (const [pattern, value] of cases) {
    assert.equal(globMatches(pattern, value), regexGlob(pattern, value), `${JSON.stringify(pattern)} ~ ${JSON.stringify(value)}`)
  }
})

test('globs agree with the regex on random short patterns and values', () => {
  // A fixed linear congruential sequence: reproducible, no dependency.
  let seed = 12345
  const next = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
  const pick = (alphabet: string, max: number) => Array.from({ length: next(max + 1) }, () => alphabet[next(alphabet.length)]).join('')
  for (let i = 0; i < 5000; i++) {
    const pattern = pick('ab*', 7)
    const value = pick('ab', 9)
    assert.equal(globMatches(pattern, value), regexGlob(pattern, value), `${pattern} ~ ${value}`)
  }
})

test('a pathological glob against long names answers at once, correctly', () => {
  const pattern = '*a*a*a*a*a*a*a*b'
  const started = process.hrtime.bigint()
  assert.equal(serviceAllowed([pattern], 'a'.repeat(63)), false)
  assert.equal(serviceAllowed([pattern], 'a'.repeat(10_000)), false)
  assert.equal(serviceAllowed([pattern], 'a'.repeat(10_000) + 'b'), true)
  assert.equal(serviceAllowed([pattern], 'ab'.repeat(5_000) + 'c'), false)
  assert.equal(serviceAllowed(['*' + 'a*'.repeat(200) + 'b'], 'a'.repeat(10_000)), false)
  // OIDC policy claim globs use the same matcher.
  assert.deepEqual(servicesFor({ rules: [{ claims: { ref: pattern }, services: ['web'] }] }, { ref: 'a'.repeat(10_000) }), [])
  process.stdout.write(`# pathological globs: ${Number(process.hrtime.bigint() - started) / 1e6} ms\n`)
})

test('scope decisions explain themselves', () => {
  const principal = (services: string[] | undefined, via: Principal['via'] = 'secret'): Principal => ({ via, subject: 'x', tokenId: undefined, services, access: 'deploy', expiresAt: 0 })
  assert.deepEqual(scopeDecision(principal(undefined), ['web'], false), { allowed: true, why: 'token has no services claim: any service' })
  assert.equal(scopeDecision(principal(undefined), ['web'], true).allowed, false)
  assert.deepEqual(scopeDecision(principal(['shop_*']), ['shop', 'shop_shop'], true), { allowed: true, why: "shop_shop is in the token's scope" })
  assert.deepEqual(scopeDecision(principal(['api']), ['web'], false), { allowed: false, why: 'web' })
  assert.match(scopeDecision(principal([], 'oidc'), ['web'], false).why, /no rule of the OIDC policy/)
})
