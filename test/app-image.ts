import { execFile } from 'node:child_process'
import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'

export type AppKind = 'good' | 'crash'

/**
 * The root file system of the tests' tiny app image, as a tar in `dir`: busybox and a /bin/app that
 * prints its version and sleeps ('good') or exits 3 at once ('crash'). `docker import` it with
 * `CMD ["/bin/app"]`.
 */
export async function appRootfs (dir: string, tag: string, kind: AppKind): Promise<{ tar: string, version: string }> {
  const root = join(dir, 'root')
  await mkdir(join(root, 'bin'), { recursive: true })
  await copyFile('/bin/busybox', join(root, 'bin', 'busybox'))
  for (const applet of ['sh', 'sleep', 'cat', 'echo']) await symlink('busybox', join(root, 'bin', applet))
  const version = `${tag}-${randomBytes(6).toString('hex')}`
  await writeFile(join(root, 'version'), version + '\n')
  await writeFile(join(root, 'bin', 'app'), kind === 'good'
    ? '#!/bin/sh\necho "version $(cat /version)"\nexec sleep 2147483647\n'
    : '#!/bin/sh\necho crashing\nexit 3\n')
  await chmod(join(root, 'bin', 'app'), 0o755)
  const tar = join(dir, 'rootfs.tar')
  await promisify(execFile)('tar', ['-C', root, '-cf', tar, '.'])
  return { tar, version }
}
