/**
 * Operator commands act directly on the configured store, like a database's admin tool:
 * same environment variables as the server (DUCTAPE_DATA_DIR, DUCTAPE_MASTER_KEY...).
 */
import { loadConfig } from '../config.js';
import type { Runtime } from '../main.js';
import { info, printJson } from './output.js';

// main.js (the store, better-sqlite3) loads only when an operator command runs, so --help
// starts without it.
export async function withRuntime<T>(work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const { openRuntime } = await import('../main.js');
  const config = loadConfig();
  const runtime = await openRuntime(config, {
    warn: (_obj: unknown, message?: string) => info(`warning: ${message ?? ''}`),
    info: () => undefined,
  } as never);
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

/** A user's new credentials, once: for people, or as JSON. */
export function showCredentials(title: string, fields: Record<string, string>, json: boolean): void {
  if (json) {
    printJson(fields);
    return;
  }
  process.stdout.write(`${title}\n\n`);
  for (const [name, value] of Object.entries(fields)) process.stdout.write(`  ${name.padEnd(13)} ${value}\n`);
  process.stdout.write(
    '\nThe private key is shown only this once and cannot be recovered: store it in a password manager now.\n',
  );
}
