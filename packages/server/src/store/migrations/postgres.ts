/**
 * PostgreSQL schema, as numbered migrations; the same tables as SQLite's. Append only.
 * Times are unix milliseconds (bigint) except `expires_at` (unix seconds). Keys use the "C"
 * collation so ordering and uniqueness are byte-wise, exactly as in SQLite.
 */
import type { Migration } from './sqlite.js';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'core',
    sql: `
      CREATE TABLE server_keys (
        name     text PRIMARY KEY,
        kek_id   text NOT NULL,
        wrapped  bytea NOT NULL
      );

      CREATE TABLE workspaces (
        id          text PRIMARY KEY,
        name        text NOT NULL,
        created_at  bigint NOT NULL
      );

      CREATE TABLE workspace_keys (
        workspace_id  text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        version       integer NOT NULL,
        kek_id        text NOT NULL,
        wrapped       bytea NOT NULL,
        created_at    bigint NOT NULL,
        PRIMARY KEY (workspace_id, version)
      );

      CREATE TABLE users (
        id              text PRIMARY KEY,
        workspace_id    text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        role            text NOT NULL CHECK (role IN ('viewer','developer','admin','owner')),
        key_hash        bytea NOT NULL,
        key_generation  integer NOT NULL DEFAULT 1,
        created_at      bigint NOT NULL,
        removed_at      bigint
      );
      CREATE INDEX users_workspace ON users(workspace_id);

      CREATE TABLE secrets (
        id            text PRIMARY KEY,
        workspace_id  text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        key           text COLLATE "C" NOT NULL,
        description   text,
        token_type    text,
        scope         text[] NOT NULL,
        envs          text[] NOT NULL,
        expires_at    bigint,
        revoked_at    bigint,
        version       integer NOT NULL,
        sealed        bytea NOT NULL,
        created_at    bigint NOT NULL,
        updated_at    bigint NOT NULL,
        UNIQUE (workspace_id, key)
      );
    `,
  },
  {
    version: 2,
    name: 'service-tokens',
    sql: `
      CREATE TABLE service_tokens (
        id            text PRIMARY KEY,
        workspace_id  text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        app           text NOT NULL,
        env           text NOT NULL,
        description   text,
        token_hash    bytea NOT NULL,
        created_by    text NOT NULL,
        created_at    bigint NOT NULL,
        expires_at    bigint NOT NULL,
        revoked_at    bigint
      );
      CREATE INDEX service_tokens_workspace ON service_tokens(workspace_id);
    `,
  },
  {
    version: 3,
    name: 'secret-versions',
    sql: `
      CREATE TABLE secret_versions (
        secret_id   text NOT NULL REFERENCES secrets(id) ON DELETE CASCADE,
        version     integer NOT NULL,
        sealed      bytea NOT NULL,
        created_at  bigint NOT NULL,
        created_by  text NOT NULL,
        PRIMARY KEY (secret_id, version)
      );
      -- Every current value becomes its own first recorded version.
      INSERT INTO secret_versions (secret_id, version, sealed, created_at, created_by)
        SELECT id, version, sealed, updated_at, 'before-versions' FROM secrets;
    `,
  },
  {
    version: 4,
    name: 'audit-log',
    sql: `
      CREATE TABLE audit_log (
        workspace_id  text NOT NULL,
        seq           bigint NOT NULL,
        at            bigint NOT NULL,
        actor_type    text NOT NULL,
        actor_id      text,
        actor_role    text,
        action        text NOT NULL,
        secret_key    text COLLATE "C",
        version       integer,
        outcome       text NOT NULL,
        code          text,
        request_id    text,
        client_ip     text,
        user_agent    text,
        detail        text,
        prev_mac      bytea NOT NULL,
        mac           bytea NOT NULL,
        PRIMARY KEY (workspace_id, seq)
      );
      CREATE INDEX audit_log_key ON audit_log(workspace_id, secret_key, seq);

      CREATE TABLE audit_heads (
        workspace_id  text PRIMARY KEY,
        seq           bigint NOT NULL,
        mac           bytea NOT NULL,
        -- A MAC over (seq, mac): rewinding the head to an earlier entry needs the key too.
        head_mac      bytea NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'server-key-versions',
    sql: `
      ALTER TABLE server_keys ADD COLUMN version integer NOT NULL DEFAULT 1,
        ADD COLUMN retired_at bigint;
      ALTER TABLE server_keys ALTER COLUMN version DROP DEFAULT;
      ALTER TABLE server_keys DROP CONSTRAINT server_keys_pkey;
      ALTER TABLE server_keys ADD PRIMARY KEY (name, version);

      ALTER TABLE audit_log ADD COLUMN mac_key integer NOT NULL DEFAULT 1;
      ALTER TABLE audit_heads ADD COLUMN mac_key integer NOT NULL DEFAULT 1;
    `,
  },
  {
    version: 6,
    name: 'row-macs-and-usage',
    sql: `
      -- See the SQLite migration of the same number.
      ALTER TABLE secrets ADD COLUMN mac bytea;

      CREATE TABLE workspace_usage (
        workspace_id  text PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
        value_bytes   bigint NOT NULL
      );
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
      -- See the SQLite migration of the same number.
      CREATE TABLE webhooks (
        id             text PRIMARY KEY,
        workspace_id   text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        url            text NOT NULL,
        events         text NOT NULL,
        app            text,
        env            text,
        description    text,
        sealed_secret  bytea NOT NULL,
        created_by     text NOT NULL,
        created_at     bigint NOT NULL
      );
      CREATE INDEX webhooks_workspace ON webhooks(workspace_id);
      -- The expiry scan reads, per workspace with a webhook, only the secrets that expire.
      CREATE INDEX secrets_expiry ON secrets(workspace_id, expires_at) WHERE expires_at IS NOT NULL;

      CREATE TABLE webhook_events (
        id            text PRIMARY KEY,
        workspace_id  text NOT NULL,
        type          text NOT NULL,
        key           text COLLATE "C" NOT NULL,
        version       integer,
        actor_type    text NOT NULL,
        actor_id      text,
        expires_at    bigint,
        scope_list    text NOT NULL,
        env_list      text NOT NULL,
        created_at    bigint NOT NULL,
        fanned_at     bigint
      );
      CREATE INDEX webhook_events_unfanned ON webhook_events(created_at) WHERE fanned_at IS NULL;

      CREATE TABLE webhook_deliveries (
        id               text PRIMARY KEY,
        webhook_id       text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        event_id         text NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
        workspace_id     text NOT NULL,
        status           text NOT NULL CHECK (status IN ('pending','delivered','failed')),
        attempts         integer NOT NULL,
        last_status      integer,
        last_error       text,
        created_at       bigint NOT NULL,
        next_attempt_at  bigint,
        delivered_at     bigint,
        lease_until      bigint,
        lease_token      text,
        UNIQUE (event_id, webhook_id)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_log ON webhook_deliveries(webhook_id, created_at);

      CREATE TABLE webhook_expiry_marks (
        secret_id     text NOT NULL,
        expires_at    bigint NOT NULL,
        lead_seconds  integer NOT NULL,
        PRIMARY KEY (secret_id, expires_at, lead_seconds)
      );
    `,
  },
];
