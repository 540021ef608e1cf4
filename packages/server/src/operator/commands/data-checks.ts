/**
 * The checks that end a restore or a store move: `ductape-server audit verify` and
 * `ductape-server integrity check`, run on the target exactly as an operator would run them
 * (a child process of this same command, with the target's environment). They unwrap keys
 * and open values to check them; nothing secret reaches their output.
 */
import { spawn } from 'node:child_process';
import { CliError } from '../output.js';

export interface CheckOutcome {
  /** Chains walked and entries in them. */
  auditChains: number;
  auditEntries: number;
  /** Secrets and recorded versions whose MAC and ciphertext were checked. */
  secrets: number;
  recordedVersions: number;
}

function runSelf(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const entry = process.argv[1];
  if (entry === undefined) throw new Error('cannot find the ductape-server entry point');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs both checks against the store `env` selects; throws naming the one that failed. */
export async function checkTarget(env: NodeJS.ProcessEnv): Promise<CheckOutcome> {
  const audit = await runSelf(['audit', 'verify', '--json'], env);
  if (audit.code !== 0) {
    throw new CliError(
      `audit verify failed on the target (exit ${audit.code}):\n${audit.stdout}${audit.stderr}`,
      1,
    );
  }
  const chains = JSON.parse(audit.stdout) as { entries: number; intact: boolean }[];
  const integrity = await runSelf(['integrity', 'check', '--json'], env);
  if (integrity.code !== 0) {
    throw new CliError(
      `integrity check failed on the target (exit ${integrity.code}):\n${integrity.stdout}${integrity.stderr}`,
      1,
    );
  }
  const checked = JSON.parse(integrity.stdout) as { secrets: number; recorded_versions: number };
  return {
    auditChains: chains.length,
    auditEntries: chains.reduce((n, c) => n + c.entries, 0),
    secrets: checked.secrets,
    recordedVersions: checked.recorded_versions,
  };
}
