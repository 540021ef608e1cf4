/**
 * Bulk seeding, run as its own process BEFORE the server starts:
 *
 *   node bench/seed.mjs '{"workspaces":[{"name":"main","prefix":"S","count":10000}]}'
 *
 * It reads the same environment as the server (DUCTAPE_DATA_DIR, DUCTAPE_MASTER_KEY,
 * DATABASE_URL, DUCTAPE_PG_SCHEMA) and opens the store with the server's own compiled
 * modules: the workspace and its owner are created by the identity service, and every value
 * is sealed by the real Keyring, so the server later reads rows exactly as if it had written
 * them. Only the insert loop is bulk: SQLite rows go through the store's own insertSecret
 * inside one transaction per batch; PostgreSQL rows are inserted a batch per statement.
 *
 * Prints one JSON line: [{ name, workspace_id, user_id, private_key, count, seconds }].
 */
import { URL } from 'node:url';
import { keyName, seededValue } from './keys.mjs';

const dist = new URL('../packages/server/dist/', import.meta.url);
const BATCH = 20_000;

async function sealedRows(runtime, newId, workspaceId, prefix, from, to) {
  const now = Date.now();
  const rows = [];
  // The data key version once per batch, not once per value (a query each on PostgreSQL).
  const dekVersion = await runtime.store.keys.latestKeyVersion(workspaceId);
  for (let i = from; i < to; i++) {
    const id = newId();
    const sealed = await runtime.keyring.seal(
      { workspaceId, secretId: id, version: 1 },
      seededValue(prefix, i),
      dekVersion,
    );
    const meta = {
      id,
      workspaceId,
      key: keyName(prefix, i),
      description: null,
      tokenType: null,
      scope: [],
      envs: [],
      expiresAt: null,
      revokedAt: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    // The row's MAC, as the server makes it (a row without one is refused on every read).
    rows.push({ ...meta, sealed, mac: await runtime.keyring.rowMac(meta, dekVersion) });
  }
  return rows;
}

/**
 * SQLite: the store's own insertSecret, all of a batch at once, so its write queue commits
 * them together (256 per transaction, one fsync each) instead of one commit and fsync each.
 */
async function insertSqlite(store, rows, actor) {
  await Promise.all(rows.map((row) => store.insertSecret(row, actor)));
}

/**
 * PostgreSQL: one multi-row INSERT ... SELECT FROM unnest(...) per batch. The value history
 * (secret_versions, when the schema has it) is filled afterwards, the way its migration
 * backfills existing rows: see `recordVersions`.
 */
async function insertPostgres(client, rows) {
  const first = rows[0];
  if (!first) return;
  await client.query(
    `INSERT INTO secrets (id, workspace_id, key, description, token_type, scope, envs, expires_at,
       revoked_at, version, created_at, updated_at, sealed, mac)
     SELECT t.id, $1, t.key, NULL, NULL, '{}', '{}', NULL, NULL, 1, $2, $2, t.sealed, t.mac
     FROM unnest($3::text[], $4::text[], $5::bytea[], $6::bytea[]) AS t(id, key, sealed, mac)`,
    [
      first.workspaceId,
      first.createdAt,
      rows.map((r) => r.id),
      rows.map((r) => r.key),
      rows.map((r) => r.sealed),
      rows.map((r) => r.mac),
    ],
  );
}

/**
 * Each seeded value as its own first recorded version, written by the workspace owner, and
 * counted in the workspace's value bytes (its storage quota).
 */
async function recordVersions(client, workspaceId, actor) {
  const { rows } = await client.query("SELECT to_regclass('secret_versions') IS NOT NULL AS present");
  if (!rows[0]?.present) return;
  await client.query(
    `INSERT INTO secret_versions (secret_id, version, sealed, created_at, created_by)
     SELECT id, version, sealed, updated_at, $2 FROM secrets WHERE workspace_id = $1`,
    [workspaceId, actor],
  );
  await client.query(
    `INSERT INTO workspace_usage (workspace_id, value_bytes)
     SELECT $1, COALESCE(SUM(length(v.sealed) - 33), 0) FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
     WHERE s.workspace_id = $1
     ON CONFLICT (workspace_id) DO UPDATE SET value_bytes = EXCLUDED.value_bytes`,
    [workspaceId],
  );
}

async function main() {
  const spec = JSON.parse(process.argv[2] ?? '{}');
  const { loadConfig } = await import(new URL('config.js', dist).href);
  const { openRuntime } = await import(new URL('main.js', dist).href);
  const { newId } = await import(new URL('ids.js', dist).href);
  const config = loadConfig();
  const runtime = await openRuntime(config);
  let pgClient;
  try {
    if (config.postgres) {
      const { default: pg } = await import('pg');
      pgClient = new pg.Client({
        connectionString: config.postgres.url,
        options: `-c search_path="${config.postgres.schema}"`,
      });
      await pgClient.connect();
    }
    const out = [];
    for (const ws of spec.workspaces ?? []) {
      const started = process.hrtime.bigint();
      const creds = await runtime.members.createWorkspace(ws.name);
      for (let from = 0; from < ws.count; from += BATCH) {
        const to = Math.min(ws.count, from + BATCH);
        const rows = await sealedRows(runtime, newId, creds.workspace_id, ws.prefix, from, to);
        if (pgClient) await insertPostgres(pgClient, rows);
        else await insertSqlite(runtime.store, rows, creds.user_id);
      }
      if (pgClient) {
        await recordVersions(pgClient, creds.workspace_id, creds.user_id);
        await pgClient.query('ANALYZE');
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      out.push({ name: ws.name, ...creds, count: ws.count, seconds: Math.round(seconds * 10) / 10 });
      process.stderr.write(`seeded ${ws.count} secrets into '${ws.name}' in ${seconds.toFixed(1)} s\n`);
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await pgClient?.end();
    await runtime.close();
  }
}

main().catch((error) => {
  process.stderr.write(`seed failed: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
