/**
 * SQLite schema, as numbered migrations. Append only: never edit a released migration.
 * Times are unix milliseconds except `expires_at` (unix seconds, as on the wire).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'core',
    sql: `
      CREATE TABLE server_keys (
        name     TEXT PRIMARY KEY,
        kek_id   TEXT NOT NULL,
        wrapped  BLOB NOT NULL
      ) STRICT;

      CREATE TABLE workspaces (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE workspace_keys (
        workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        version       INTEGER NOT NULL,
        kek_id        TEXT NOT NULL,
        wrapped       BLOB NOT NULL,
        created_at    INTEGER NOT NULL,
        PRIMARY KEY (workspace_id, version)
      ) STRICT;

      CREATE TABLE users (
        id              TEXT PRIMARY KEY,
        workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        role            TEXT NOT NULL CHECK (role IN ('viewer','developer','admin','owner')),
        key_hash        BLOB NOT NULL,
        key_generation  INTEGER NOT NULL DEFAULT 1,
        created_at      INTEGER NOT NULL,
        removed_at      INTEGER
      ) STRICT;
      CREATE INDEX users_workspace ON users(workspace_id);

      CREATE TABLE secrets (
        id            TEXT PRIMARY KEY,
        workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        key           TEXT NOT NULL,
        description   TEXT,
        token_type    TEXT,
        scope         TEXT NOT NULL,
        envs          TEXT NOT NULL,
        expires_at    INTEGER,
        revoked_at    INTEGER,
        version       INTEGER NOT NULL,
        sealed        BLOB NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        UNIQUE (workspace_id, key)
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'service-tokens',
    sql: `
      CREATE TABLE service_tokens (
        id            TEXT PRIMARY KEY,
        workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        app           TEXT NOT NULL,
        env           TEXT NOT NULL,
        description   TEXT,
        token_hash    BLOB NOT NULL,
        created_by    TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        revoked_at    INTEGER
      ) STRICT;
      CREATE INDEX service_tokens_workspace ON service_tokens(workspace_id);
    `,
  },
  {
    version: 3,
    name: 'secret-versions',
    sql: `
      CREATE TABLE secret_versions (
        secret_id   TEXT NOT NULL REFERENCES secrets(id) ON DELETE CASCADE,
        version     INTEGER NOT NULL,
        sealed      BLOB NOT NULL,
        created_at  INTEGER NOT NULL,
        created_by  TEXT NOT NULL,
        PRIMARY KEY (secret_id, version)
      ) STRICT;
      -- Every current value becomes its own first recorded version.
      INSERT INTO secret_versions (secret_id, version, sealed, created_at, created_by)
        SELECT id, version, sealed, updated_at, 'before-versions' FROM secrets;
    `,
  },
  {
    version: 4,
    name: 'audit-log',
    sql: `
      -- One hash chain per workspace (and one, 'system', for sign-ins to no known workspace).
      -- No foreign keys: the log outlives whatever it speaks of.
      CREATE TABLE audit_log (
        workspace_id  TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        at            INTEGER NOT NULL,
        actor_type    TEXT NOT NULL,
        actor_id      TEXT,
        actor_role    TEXT,
        action        TEXT NOT NULL,
        secret_key    TEXT,
        version       INTEGER,
        outcome       TEXT NOT NULL,
        code          TEXT,
        request_id    TEXT,
        client_ip     TEXT,
        user_agent    TEXT,
        detail        TEXT,
        prev_mac      BLOB NOT NULL,
        mac           BLOB NOT NULL,
        PRIMARY KEY (workspace_id, seq)
      ) STRICT;
      CREATE INDEX audit_log_key ON audit_log(workspace_id, secret_key, seq);

      -- The last entry of each chain, so a removed tail is noticed too.
      CREATE TABLE audit_heads (
        workspace_id  TEXT PRIMARY KEY,
        seq           INTEGER NOT NULL,
        mac           BLOB NOT NULL,
        -- A MAC over (seq, mac): rewinding the head to an earlier entry needs the key too.
        head_mac      BLOB NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 5,
    name: 'server-key-versions',
    sql: `
      -- A server key gets versions: a rotation adds the next one, and retires older ones
      -- (retired_at, unix ms, also bound into the wrapped bytes). Rebuilt for its new key.
      CREATE TABLE server_keys_v5 (
        name        TEXT NOT NULL,
        version     INTEGER NOT NULL,
        kek_id      TEXT NOT NULL,
        wrapped     BLOB NOT NULL,
        retired_at  INTEGER,
        PRIMARY KEY (name, version)
      ) STRICT;
      INSERT INTO server_keys_v5 (name, version, kek_id, wrapped)
        SELECT name, 1, kek_id, wrapped FROM server_keys;
      DROP TABLE server_keys;
      ALTER TABLE server_keys_v5 RENAME TO server_keys;

      -- Which version of the audit key MACs each entry and head; older entries used version 1.
      ALTER TABLE audit_log ADD COLUMN mac_key INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE audit_heads ADD COLUMN mac_key INTEGER NOT NULL DEFAULT 1;
    `,
  },
  {
    version: 6,
    name: 'row-macs-and-usage',
    sql: `
      -- The MAC of each secret row (crypto/row-mac.ts). NULL on rows from before it: the
      -- server fills those in once, when it converts their workspace at start
      -- (services/secrets/secret-integrity.ts), and refuses every other row without one.
      ALTER TABLE secrets ADD COLUMN mac BLOB;

      -- Bytes of values each workspace holds, versions included, for its storage quota.
      CREATE TABLE workspace_usage (
        workspace_id  TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
        value_bytes   INTEGER NOT NULL
      ) STRICT;
      -- What each workspace holds now: every recorded version (the current value is one),
      -- as plaintext bytes (a sealed value has 33 bytes more: see crypto/envelope.ts).
      INSERT INTO workspace_usage (workspace_id, value_bytes)
        SELECT w.id, COALESCE((SELECT SUM(length(v.sealed) - 33) FROM secret_versions v
          JOIN secrets s ON s.id = v.secret_id WHERE s.workspace_id = w.id), 0)
        FROM workspaces w;
    `,
  },
  {
    version: 7,
    name: 'webhooks',
    sql: `
      -- Webhooks (services/webhooks/): a registration's signing secret is stored sealed with
      -- its workspace's data keys, never in the clear. Lists are JSON text on both backends.
      CREATE TABLE webhooks (
        id             TEXT PRIMARY KEY,
        workspace_id   TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        url            TEXT NOT NULL,
        events         TEXT NOT NULL,
        app            TEXT,
        env            TEXT,
        description    TEXT,
        sealed_secret  BLOB NOT NULL,
        created_by     TEXT NOT NULL,
        created_at     INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX webhooks_workspace ON webhooks(workspace_id);
      -- The expiry scan reads, per workspace with a webhook, only the secrets that expire.
      CREATE INDEX secrets_expiry ON secrets(workspace_id, expires_at) WHERE expires_at IS NOT NULL;

      -- The outbox: one row per change (written in the change's transaction, only while its
      -- workspace has a webhook) or expiry noticed; fanned out to deliveries by a dispatcher.
      CREATE TABLE webhook_events (
        id            TEXT PRIMARY KEY,
        workspace_id  TEXT NOT NULL,
        type          TEXT NOT NULL,
        key           TEXT NOT NULL,
        version       INTEGER,
        actor_type    TEXT NOT NULL,
        actor_id      TEXT,
        expires_at    INTEGER,
        scope_list    TEXT NOT NULL,
        env_list      TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        fanned_at     INTEGER
      ) STRICT;
      CREATE INDEX webhook_events_unfanned ON webhook_events(created_at) WHERE fanned_at IS NULL;

      -- One event to one webhook; a node holds it while sending (lease_until, lease_token).
      CREATE TABLE webhook_deliveries (
        id               TEXT PRIMARY KEY,
        webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        event_id         TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
        workspace_id     TEXT NOT NULL,
        status           TEXT NOT NULL CHECK (status IN ('pending','delivered','failed')),
        attempts         INTEGER NOT NULL,
        last_status      INTEGER,
        last_error       TEXT,
        created_at       INTEGER NOT NULL,
        next_attempt_at  INTEGER,
        delivered_at     INTEGER,
        lease_until      INTEGER,
        lease_token      TEXT,
        UNIQUE (event_id, webhook_id)
      ) STRICT;
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_log ON webhook_deliveries(webhook_id, created_at);

      -- Expiry events already written: once per (secret, expires_at, lead; 0 = expired).
      CREATE TABLE webhook_expiry_marks (
        secret_id     TEXT NOT NULL,
        expires_at    INTEGER NOT NULL,
        lead_seconds  INTEGER NOT NULL,
        PRIMARY KEY (secret_id, expires_at, lead_seconds)
      ) STRICT;
    `,
  },
];
