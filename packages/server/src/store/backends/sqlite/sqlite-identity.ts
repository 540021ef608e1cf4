/**
 * Workspaces, users and service tokens on the embedded store (see store/identity-store.ts).
 * Every write goes through the write queue, in which nothing else runs: a user change reads
 * the owners and writes in one step, so two demotions cannot both pass the last-owner check.
 *
 * Principal watchers: reads and writes share this one connection, so `PRAGMA data_version`
 * moves only when another process commits (an operator command such as
 * `ductape-server user remove` on the same file). Each `fresh()` looks (a few microseconds)
 * and resets every watcher when it moved. This process's own changes are told directly,
 * inside the write, before its commit.
 */
import type Database from 'better-sqlite3';
import type { IdentityStore, PrincipalKind, PrincipalWatcher } from '../../identity-store.js';
import {
  IDENTITY_SQL,
  leavesOwners,
  serviceTokenValues,
  toServiceTokenRow,
  toUserRow,
  toWorkspaceRow,
  updateUserSql,
  userChangesToWrite,
  userFields,
  userValues,
  type ServiceTokenRecord,
  type UserRecord,
  type WorkspaceRecord,
} from '../../sql/identity-rows.js';
import { KEY_SQL } from '../../sql/key-rows.js';
import type { SqliteAudit } from './sqlite-audit.js';
import type { WriteQueue } from './write-queue.js';

export function sqliteIdentity(db: Database.Database, writes: WriteQueue, audit: SqliteAudit): IdentityStore {
  const stmt = {
    // Moves when another connection (another process) commits; never for this one's own.
    dataVersion: db.prepare('PRAGMA data_version').pluck(),
    insertWorkspace: db.prepare(IDENTITY_SQL.insertWorkspace),
    insertDataKey: db.prepare(KEY_SQL.insertDataKey),
    getWorkspace: db.prepare(IDENTITY_SQL.getWorkspace),
    workspaceIds: db.prepare(IDENTITY_SQL.workspaceIds).pluck(),
    insertUser: db.prepare(IDENTITY_SQL.insertUser),
    getUser: db.prepare(IDENTITY_SQL.getUser),
    listUsers: db.prepare(IDENTITY_SQL.listUsers),
    countOwners: db
      .prepare("SELECT COUNT(*) FROM users WHERE workspace_id = ? AND role = 'owner' AND removed_at IS NULL")
      .pluck(),
    insertServiceToken: db.prepare(IDENTITY_SQL.insertServiceToken),
    getServiceToken: db.prepare(IDENTITY_SQL.getServiceToken),
    listServiceTokens: db.prepare(IDENTITY_SQL.listServiceTokens),
    revokeServiceToken: db.prepare(IDENTITY_SQL.revokeServiceToken),
  };
  const watchers = new Set<PrincipalWatcher>();
  /** `PRAGMA data_version` when last looked at, for the principal watchers. */
  let dataVersion = 0;
  const principalChanged = (kind: PrincipalKind, id: string): void => {
    for (const w of watchers) w.changed(kind, id);
  };

  return {
    async createWorkspace(workspace, dataKey, owner, auditAppend) {
      await writes.run(() => {
        stmt.insertWorkspace.run(workspace.id, workspace.name, workspace.createdAt);
        const { version, kekId, wrapped } = dataKey;
        stmt.insertDataKey.run(workspace.id, version, kekId, wrapped, workspace.createdAt);
        stmt.insertUser.run(...userValues(owner));
        if (auditAppend) audit.appendSync(auditAppend);
      });
    },
    async getWorkspace(id) {
      const r = stmt.getWorkspace.get(id) as WorkspaceRecord | undefined;
      return r && toWorkspaceRow(r);
    },
    async workspaceIds(after, limit) {
      return stmt.workspaceIds.all(after ?? '', limit) as string[];
    },

    async insertUser(user, auditAppend) {
      await writes.run(() => {
        stmt.insertUser.run(...userValues(user));
        if (auditAppend) audit.appendSync(auditAppend);
      });
    },
    async getUser(id) {
      const r = stmt.getUser.get(id) as UserRecord | undefined;
      return r && toUserRow(r);
    },
    async listUsers(workspaceId) {
      return (stmt.listUsers.all(workspaceId) as UserRecord[]).map(toUserRow);
    },
    updateUser(workspaceId, id, requested, auditAppend) {
      return writes.run(() => {
        const record = stmt.getUser.get(id) as UserRecord | undefined;
        if (!record || record.workspace_id !== workspaceId) return undefined;
        const user = toUserRow(record);
        const changes = userChangesToWrite(user, requested);
        if (leavesOwners(user, changes) && (stmt.countOwners.get(workspaceId) as number) <= 1) {
          return 'last-owner' as const;
        }
        const fields = userFields(changes);
        if (fields.length > 0) {
          db.prepare(updateUserSql(fields, () => '?')).run(...fields.map((f) => changes[f]), id);
          principalChanged('user', id);
        }
        if (auditAppend) audit.appendSync(auditAppend);
        return { ...user, ...changes };
      });
    },

    async insertServiceToken(row, auditAppend) {
      await writes.run(() => {
        stmt.insertServiceToken.run(...serviceTokenValues(row));
        if (auditAppend) audit.appendSync(auditAppend);
      });
    },
    async getServiceToken(id) {
      const r = stmt.getServiceToken.get(id) as ServiceTokenRecord | undefined;
      return r && toServiceTokenRow(r);
    },
    async listServiceTokens(workspaceId) {
      return (stmt.listServiceTokens.all(workspaceId) as ServiceTokenRecord[]).map(toServiceTokenRow);
    },
    revokeServiceToken(workspaceId, id, revokedAt, auditAppend) {
      return writes.run(() => {
        const found = stmt.revokeServiceToken.run(revokedAt, workspaceId, id).changes === 1;
        if (found) principalChanged('token', id);
        if (found && auditAppend) audit.appendSync(auditAppend);
        return found;
      });
    },

    watchPrincipals(watcher) {
      if (watchers.size === 0) dataVersion = stmt.dataVersion.get() as number;
      watchers.add(watcher);
      return {
        fresh: () => {
          if (!db.open) return false;
          let version: number;
          try {
            version = stmt.dataVersion.get() as number;
          } catch {
            return false; // the store's own read will say what is wrong
          }
          if (version !== dataVersion) {
            dataVersion = version;
            for (const w of watchers) w.reset();
          }
          return true;
        },
        stop: async () => {
          watchers.delete(watcher);
        },
      };
    },
  };
}
