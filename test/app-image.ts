import { execFile } from 'node:child_process'
import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'

/**
 * 'good' prints its version and sleeps; 'crash' exits 3 at once; 'http-200' and 'http-500' serve
 * `GET /cgi-bin/status` on port 8080 (busybox httpd) with that status and the version as the body.
 */
export type AppKind = 'good' | 'crash' | 'http-200' | 'http-500'

/** The port the 'http-*' kinds listen on inside their container. */
export const APP_HTTP_PORT = 8080

/**
 * The root file system of the tests' tiny app image, as a tar in `dir`: busybox and a /bin/app that
 * prints its version and sleeps ('good') or exits 3 at once ('crash'). `docker import` it with
 * `CMD ["/bin/app"]`.
 */
export async function appRootfs (dir: string, tag: string, kind: AppKind): Promise<{ tar: string, version: string }> {
  const root = join(dir, 'root')
  await mkdir(join(root, 'bin'), { recursive: true })
  await copyFile('/bin/busybox', join(root, 'bin', 'busybox'))
  for (const applet of ['sh', 'sleep', 'cat', 'echo', 'printf', 'httpd']) await symlink('busybox', join(root, 'bin', applet))
  const version = `${tag}-${randomBytes(6).toString('hex')}`
  await writeFile(join(root, 'version'), version + '\n')
  const http = /^http-(\d{3})$/.exec(kind)?.[1]
  if (http !== undefined) {
    await mkdir(join(root, 'www', 'cgi-bin'), { recursive: true })
    // busybox httpd turns a CGI's "Status:" line into the status line.
    await writeFile(join(root, 'www', 'cgi-bin', 'status'), `#!/bin/sh\nprintf 'Status: ${http} Test\\r\\nContent-Type: text/plain\\r\\n\\r\\n'\ncat /version\n`)
    await chmod(join(root, 'www', 'cgi-bin', 'status'), 0o755)
  }
  await writeFile(join(root, 'bin', 'app'), kind === 'good'
    ? '#!/bin/sh\necho "version $(cat /version)"\nexec sleep 2147483647\n'
    : http !== undefined
      ? `#!/bin/sh\necho "version $(cat /version)"\nexec httpd -f -p ${APP_HTTP_PORT} -h /www\n`
      : '#!/bin/sh\necho crashing\nexit 3\n')
  await chmod(join(root, 'bin', 'app'), 0o755)
  const tar = join(dir, 'rootfs.tar')
  await promisify(execFile)('tar', ['-C', root, '-cf', tar, '.'])
  return { tar, version }
}
