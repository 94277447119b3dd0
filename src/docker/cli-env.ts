/**
 * The environment of every process the updater starts to reach Docker: the CLI calls (in this
 * process or from the spawn helper), the spawn helper itself, and the `docker events` stream.
 *
 * An allow-list, not a deny-list: the updater's own environment holds secrets the CLI has no use
 * for (JWT_SECRET, GITHUB_WEBHOOK_SECRET, GITEA_WEBHOOK_SECRET, DOCKERHUB_WEBHOOK_TOKEN,
 * QUAY_WEBHOOK_TOKEN, NOTIFY_SECRET, NOTIFY_URLS with passwords in them, the `_FILE` paths of each,
 * and whatever a deployment adds), and a name added tomorrow must not leak by default. What passes
 * is what the Docker CLI reads and what the credential helpers it starts for `--with-registry-auth`
 * read (docs/API.md, "Configuration", lists them).
 */

/** Names passed on as they are. */
const NAMES = new Set([
  // where the CLI finds its config.json (~/.docker), its binaries and credential helpers
  'HOME', 'PATH', 'USER', 'LOGNAME', 'TMPDIR', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR',
  // proxies, in both spellings Go reads
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy',
  // locale and time zone
  'LANG', 'LANGUAGE', 'TZ',
  // TLS trust for a registry or a tcp:// daemon; the agent of an ssh:// DOCKER_HOST
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'SSH_AUTH_SOCK',
  // credential helpers of the clouds: docker-credential-gcr, docker-credential-acr-env
  'GOOGLE_APPLICATION_CREDENTIALS', 'CLOUDSDK_CONFIG',
  // coverage of the spawn helper under `npm test` (a directory name, no secret)
  'NODE_V8_COVERAGE'
])

/**
 * Prefixes passed on: the CLI's own settings (DOCKER_HOST, DOCKER_CONFIG, DOCKER_CONTEXT,
 * DOCKER_CERT_PATH, DOCKER_TLS_VERIFY, DOCKER_API_VERSION, …), locale categories, and the
 * settings of docker-credential-ecr-login (AWS_*) and of the Azure helpers (AZURE_*).
 * `DOCKERHUB_WEBHOOK_TOKEN` and `DOCKERHUB_WEBHOOK_TOKEN_FILE` do not start with `DOCKER_`.
 */
const PREFIXES = ['DOCKER_', 'LC_', 'AWS_', 'AZURE_']

export function allowedInDockerEnv (name: string): boolean {
  return NAMES.has(name) || PREFIXES.some((prefix) => name.startsWith(prefix))
}

/** Environment for the Docker CLI: only what it and its credential helpers read (see above). */
export function dockerEnv (env: NodeJS.ProcessEnv, dockerHost?: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && allowedInDockerEnv(key)) out[key] = value
  }
  if (dockerHost !== undefined && dockerHost !== '') out.DOCKER_HOST = dockerHost
  return out
}
