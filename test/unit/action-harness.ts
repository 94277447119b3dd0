import { execFile } from 'node:child_process'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

/**
 * Runs action.yml's composite step the way a GitHub runner does: the step's `env` mapping with
 * `${{ inputs.x }}` replaced by the given input or its declared default, then its `run` line with
 * `bash --noprofile --norc -eo pipefail`, GITHUB_ACTION_PATH at the repository, and fresh
 * GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files.
 */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface ActionInput { description: string, required?: boolean, default?: string }
export interface ActionStep { id: string, shell: string, env: Record<string, string>, run: string }
export interface ActionMetadata {
  name: string
  description: string
  inputs: Record<string, ActionInput>
  outputs: Record<string, { description: string, value: string }>
  runs: { using: string, steps: ActionStep[] }
}

export const loadAction = (): ActionMetadata => parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as ActionMetadata

const EXPRESSION = /\$\{\{\s*([^}]*?)\s*\}\}/g

/** The step's environment as GitHub evaluates it for these inputs. */
export function stepEnv (action: ActionMetadata, inputs: Record<string, string>): Record<string, string> {
  for (const name of Object.keys(inputs)) {
    if (!(name in action.inputs)) throw new Error(`action.yml declares no input "${name}"`)
  }
  const step = action.runs.steps[0]!
  return Object.fromEntries(Object.entries(step.env).map(([key, value]) => [key, String(value).replace(EXPRESSION, (_, expression: string) => {
    const match = /^inputs\.([A-Za-z0-9_-]+)$/.exec(expression)
    if (match === null) throw new Error(`${key}: the test runner only evaluates inputs.<name>, not "${expression}"`)
    const name = match[1]!
    const declared = action.inputs[name]
    if (declared === undefined) throw new Error(`${key} reads the undeclared input "${name}"`)
    return inputs[name] ?? declared.default ?? ''
  })]))
}

export interface StepResult { code: number, stdout: string, outputs: Record<string, string>, summary: string }

/** GitHub's GITHUB_OUTPUT format: `name=value` lines and `name<<DELIMITER` heredocs. */
export function parseOutputs (text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc !== null) {
      const end = lines.indexOf(heredoc[2]!, i + 1)
      outputs[heredoc[1]!] = lines.slice(i + 1, end).join('\n')
      i = end
    } else if (line.includes('=')) {
      outputs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
    }
  }
  return outputs
}

export async function runStep (inputs: Record<string, string>, extraEnv: Record<string, string> = {}): Promise<StepResult> {
  const action = loadAction()
  const step = action.runs.steps[0]!
  if (step.shell !== 'bash') throw new Error(`the test runner knows only shell: bash, not ${step.shell}`)
  const dir = mkdtempSync(join(tmpdir(), 'cu-action-'))
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary') }
  for (const file of Object.values(files)) writeFileSync(file, '')
  const env = { PATH: process.env.PATH ?? '', GITHUB_ACTION_PATH: ROOT, ...files, ...extraEnv, ...stepEnv(action, inputs) }
  const result = await new Promise<{ code: number, stdout: string }>((resolve) => {
    execFile('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run], { env, timeout: 60_000 }, (error, stdout) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout })
    })
  })
  return { ...result, outputs: parseOutputs(readFileSync(files.GITHUB_OUTPUT, 'utf8')), summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8') }
}

export interface Seen { method: string, path: string, authorization?: string, body?: unknown }
/** What the fake updater answers: a JSON reply, or `'drop'` to cut the connection. */
export type Reply = { status: number, body: unknown } | 'drop'

/**
 * A stand-in for the updater on 127.0.0.1: `answer` decides each reply; every request is recorded.
 */
export async function startUpdater (answer: (seen: Seen) => Reply): Promise<{ url: string, seen: Seen[], close: () => Promise<void> }> {
  const seen: Seen[] = []
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const request: Seen = { method: req.method ?? '', path: req.url ?? '', ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization }), ...(raw !== '' && { body: JSON.parse(raw) }) }
      seen.push(request)
      const reply = answer(request)
      if (reply === 'drop') return req.socket.destroy()
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
