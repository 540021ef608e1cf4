/**
 * Shared by the key rotation suites: seeding workspaces behind the servers' backs (through an
 * in-process runtime on the same store, so no running server has their keys cached), running
 * `ductape-server keys ...`, and reading the key columns and sealed headers straight from the
 * database.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { keyId } from '../../src/crypto/envelope.js';
import { openRuntime } from '../../src/main.js';
import { PG_URL } from '../helpers/backends.js';
import { runOperator, type CliResult, type Credentials } from '../helpers/harness.js';
import type { Slot } from './traffic.js';

/**
 * Creates `workspaces` workspaces, each with `keys` secrets of `versions` versions, and
 * returns them as traffic slots.
 */
export async function seedWorkspaces(
  env: Record<string, string>,
  workspaces: number,
  keys: number,
  versions = 1,
): Promise<{ owners: Credentials[]; slots: Slot[] }> {
  const runtime = await openRuntime(loadConfig({ ...env, LOG_LEVEL: 'silent' }));
  const owners: Credentials[] = [];
  const slots: Slot[] = [];
  try {
    for (let w = 0; w < workspaces; w++) {
      const owner = await runtime.members.createWorkspace(`seeded ${w}`);
      owners.push(owner);
      const principal = {
        kind: 'user' as const,
        workspaceId: owner.workspace_id,
        userId: owner.user_id,
        role: 'owner' as const,
      };
      for (let k = 0; k < keys; k++) {
        const key = `KEY_${k}`;
        const history = new Map<number, string>();
        for (let v = 1; v <= versions; v++) {
          const value = `w${w}-${key}-v${v}-${Math.random().toString(36).slice(2)}`;
          history.set(v, value);
          if (v === 1) await runtime.secrets.create(principal, { key, value });
          else await runtime.secrets.update(principal, key, { value });
        }
        slots.push({ credentials: owner, key, version: versions, history, lastRead: 0 });
      }
    }
  } finally {
    await runtime.close();
  }
  return { owners, slots };
}

/** Runs `ductape-server ...args --json` with `env`; returns the exit and the parsed output. */
export async function keysJson(
  args: string[],
  env: Record<string, string>,
): Promise<{ result: CliResult; json: Record<string, unknown> }> {
  const result = await runOperator([...args, '--json'], { env, cwd: tmpdir() });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    // left empty: the caller's assertion on the exit code shows stderr
  }
  return { result, json };
}

export function expectExit(result: CliResult, code: number): void {
  assert.equal(result.code, code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
}

/** Raw SQL on the suite's database (SQLite file in the data dir, or the PostgreSQL schema). */
export async function dbQuery<R>(
  env: Record<string, string>,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  if (!env.DATABASE_URL) {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(env.DUCTAPE_DATA_DIR as string, 'ductape.sqlite'));
    try {
      db.pragma('busy_timeout = 5000');
      return db.prepare(text.replace(/\$\d+/g, '?')).all(...values) as R[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({
    connectionString: PG_URL,
    options: `-c search_path=${env.DUCTAPE_PG_SCHEMA as string}`,
  });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as R[];
  } finally {
    await client.end();
  }
}

/** How many rows of workspace_keys and server_keys each master key id wraps. */
export async function kekCounts(env: Record<string, string>): Promise<Record<string, number>> {
  const rows = await dbQuery<{ kek_id: string }>(
    env,
    'SELECT kek_id FROM workspace_keys UNION ALL SELECT kek_id FROM server_keys',
  );
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.kek_id] = (counts[r.kek_id] ?? 0) + 1;
  return counts;
}

export interface SealedHeader {
  table: 'secrets' | 'secret_versions';
  secret_id: string;
  version: number;
  dek: number;
  created_at: number;
}

/** The data key version in the header of every sealed value of a workspace, read from the bytes. */
export async function sealedHeaders(
  env: Record<string, string>,
  workspaceId: string,
): Promise<SealedHeader[]> {
  const rows = await dbQuery<{
    t: string;
    secret_id: string;
    version: number;
    sealed: Buffer;
    created_at: number;
  }>(
    env,
    `SELECT 'secrets' AS t, id AS secret_id, version, sealed, updated_at AS created_at FROM secrets WHERE workspace_id = $1
     UNION ALL
     SELECT 'secret_versions', v.secret_id, v.version, v.sealed, v.created_at
       FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.workspace_id = $2`,
    [workspaceId, workspaceId],
  );
  return rows.map((r) => {
    const sealed = Buffer.from(r.sealed);
    assert.equal(sealed[0], 1, 'format byte');
    return {
      table: r.t as SealedHeader['table'],
      secret_id: r.secret_id,
      version: Number(r.version),
      dek: sealed.readUInt32BE(1),
      created_at: Number(r.created_at),
    };
  });
}

/** The id of the key in a key file (the public fingerprint the database records). */
export function keyFileId(file: string): string {
  return keyId(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
}

export const idOfBase64 = (base64: string): string => keyId(Buffer.from(base64, 'base64'));

/** Reads every slot's current value and its oldest kept version through `url`; returns the mismatches. */
export async function verifyAll(url: string, slots: readonly Slot[]): Promise<string[]> {
  const problems: string[] = [];
  const tokens = new Map<string, string>();
  for (const slot of slots) {
    let token = tokens.get(slot.credentials.workspace_id);
    if (!token) {
      const signIn = await fetch(`${url}/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(slot.credentials),
      });
      if (signIn.status !== 200) {
        problems.push(
          `sign-in for ${slot.credentials.workspace_id}: ${signIn.status} ${await signIn.text()}`,
        );
        continue;
      }
      token = ((await signIn.json()) as { access_token: string }).access_token;
      tokens.set(slot.credentials.workspace_id, token);
    }
    const oldest = Math.max(1, slot.version - 19);
    for (const version of new Set([slot.version, oldest])) {
      const response = await fetch(`${url}/v1/secrets/${slot.key}?version=${version}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await response.json()) as { value?: string };
      if (response.status !== 200 || body.value !== slot.history.get(version)) {
        problems.push(`${slot.credentials.workspace_id} ${slot.key} v${version}: ${response.status}`);
      }
    }
  }
  return problems;
}
