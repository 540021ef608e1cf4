/**
 * Real file systems for the disk fault suites: a tiny tmpfs to fill up, and an ext4 image on
 * a loop device that the kernel turns read-only after an error, as it does on a failing disk
 * (`errors=remount-ro`). Mounting needs root with CAP_SYS_ADMIN (a privileged container or a
 * VM); where it is refused, the suites are skipped with the reason, on a loud line.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** Runs a command; throws with its stderr when it fails. */
export function run(command: string, args: string[], okStatuses: readonly number[] = [0]): string {
  try {
    return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const { status, stderr } = error as { status?: number | null; stderr?: string };
    if (typeof status === 'number' && okStatuses.includes(status)) return '';
    const said = (stderr ?? '').trim() || (error as Error).message;
    throw new Error(`${command} ${args.join(' ')}: ${said}`);
  }
}

export function mountTmpfs(dir: string, bytes: number): void {
  run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir]);
}

/** Makes an ext4 file system in `image` and mounts it on `dir`; returns its loop device's name. */
export function mountExt4(image: string, dir: string, megabytes: number): string {
  run('truncate', ['-s', `${megabytes}M`, image]);
  run('mkfs.ext4', ['-q', '-F', image]);
  return remountExt4(image, dir);
}

/** Mounts an existing ext4 image (again) on `dir`; returns its loop device's name. */
export function remountExt4(image: string, dir: string): string {
  run('mount', ['-o', 'loop,errors=remount-ro', image, dir]);
  return basename(run('findmnt', ['-n', '-o', 'SOURCE', dir]).trim());
}

/**
 * An error on the file system, through the kernel's own ext4 error path: with
 * errors=remount-ro it aborts the journal and takes the file system read-only, at once.
 */
export function failExt4(device: string): void {
  writeFileSync(`/sys/fs/ext4/${device}/trigger_fs_error`, 'ductape test: simulated disk error');
}

/** What an operator does after such an error: check and repair the image (unmounted). */
export function repairExt4(image: string): void {
  // 1: errors were corrected.
  run('e2fsck', ['-f', '-y', image], [0, 1]);
}

export function unmount(dir: string): void {
  try {
    run('umount', [dir]);
  } catch (error) {
    const message = (error as Error).message;
    if (/not mounted/.test(message)) return;
    // Still in use (a failed test left a process behind): detach it now, freed when closed.
    if (/busy/.test(message)) run('umount', ['-l', dir]);
    else throw error;
  }
}

function probe(what: string, attempt: (dir: string) => void): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'ductape-mount-probe-'));
  try {
    attempt(dir);
    return undefined;
  } catch (error) {
    const reason = `${what} is not possible here (needs root with CAP_SYS_ADMIN): ${(error as Error).message}`;
    process.stderr.write(`\n*** SKIPPING the suites that need it: ${reason} ***\n\n`);
    return reason;
  } finally {
    try {
      unmount(join(dir, 'mnt'));
    } catch {
      // the probe's own failure is the one reported
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Undefined when a tmpfs can be mounted here, else why not. */
export const TMPFS_SKIP_REASON = probe('mounting a tmpfs', (dir) => {
  const mnt = join(dir, 'mnt');
  run('mkdir', [mnt]);
  mountTmpfs(mnt, 1 << 20);
  unmount(mnt);
});

/** Undefined when an ext4 image can be loop-mounted and failed here, else why not. */
export const EXT4_SKIP_REASON = probe('loop-mounting an ext4 image', (dir) => {
  const mnt = join(dir, 'mnt');
  run('mkdir', [mnt]);
  const device = mountExt4(join(dir, 'probe.img'), mnt, 8);
  try {
    if (!existsSync(`/sys/fs/ext4/${device}/trigger_fs_error`)) {
      throw new Error(`this kernel has no /sys/fs/ext4/${device}/trigger_fs_error`);
    }
  } finally {
    unmount(mnt);
  }
});
