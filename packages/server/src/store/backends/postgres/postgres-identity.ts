/**
 * Workspaces, users and service tokens on PostgreSQL (see store/identity-store.ts). A change
 * to a user or token is announced to every node through the principal listener
 * (principal-listener.ts), inside its own transaction.
 */
import type { IdentityStore } from '../../identity-store.js';
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
import { appendAudit } from './postgres-audit.js';
import { numberedAll, pgPlaceholder, type PgContext } from './postgres-dialect.js';
import { SQL as KEY_SQL } from './postgres-keys.js';
import type { PrincipalListener } from './principal-listener.js';

const SQL = numberedAll(IDENTITY_SQL);

export function postgresIdentity(
  { query, transaction }: PgContext,
  principals: PrincipalListener,
): IdentityStore {
  return {
    async createWorkspace(workspace, dataKey, owner, audit) {
      await transaction(async (client) => {
        await client.query(SQL.insertWorkspace, [workspace.id, workspace.name, workspace.createdAt]);
        const { version, kekId, wrapped } = dataKey;
        await client.query(KEY_SQL.insertDataKey, [
          workspace.id,
          version,
          kekId,
          wrapped,
          workspace.createdAt,
        ]);
        await client.query(SQL.insertUser, userValues(owner));
        if (audit) await appendAudit(client, audit);
      });
    },
    async getWorkspace(id) {
      const r = (await query<WorkspaceRecord>(SQL.getWorkspace, [id])).rows[0];
      return r && toWorkspaceRow(r);
    },
    async workspaceIds(after, limit) {
      return (await query<{ id: string }>(SQL.workspaceIds, [after ?? '', limit])).rows.map((r) => r.id);
    },

    async insertUser(user, audit) {
      if (!audit) {
        await query(SQL.insertUser, userValues(user));
        return;
      }
      await transaction(async (client) => {
        await client.query(SQL.insertUser, userValues(user));
        await appendAudit(client, audit);
      });
    },
    async getUser(id) {
      const r = (await query<UserRecord>(SQL.getUser, [id], 'get_user')).rows[0];
      return r && toUserRow(r);
    },
    async listUsers(workspaceId) {
      return (await query<UserRecord>(SQL.listUsers, [workspaceId])).rows.map(toUserRow);
    },
    /** Locks the workspace's users, so two owners cannot demote each other at once. */
    updateUser(workspaceId, id, requested, audit) {
      return principals.announce('user', id, (notify) =>
        transaction(async (client) => {
          const { rows } = await client.query<UserRecord>(
            'SELECT * FROM users WHERE workspace_id = $1 ORDER BY id FOR UPDATE',
            [workspaceId],
          );
          const record = rows.find((r) => r.id === id);
          if (!record) return undefined;
          const user = toUserRow(record);
          const changes = userChangesToWrite(user, requested);
          if (leavesOwners(user, changes)) {
            const owners = rows.filter((r) => r.role === 'owner' && r.removed_at === null).length;
            if (owners <= 1) return 'last-owner' as const;
          }
          const fields = userFields(changes);
          if (fields.length > 0) {
            await client.query(updateUserSql(fields, pgPlaceholder), [...fields.map((f) => changes[f]), id]);
            await notify(client);
          }
          if (audit) await appendAudit(client, audit);
          return { ...user, ...changes };
        }),
      );
    },

    async insertServiceToken(row, audit) {
      await transaction(async (client) => {
        await client.query(SQL.insertServiceToken, serviceTokenValues(row));
        if (audit) await appendAudit(client, audit);
      });
    },
    async getServiceToken(id) {
      const r = (await query<ServiceTokenRecord>(SQL.getServiceToken, [id], 'get_service_token')).rows[0];
      return r && toServiceTokenRow(r);
    },
    async listServiceTokens(workspaceId) {
      return (await query<ServiceTokenRecord>(SQL.listServiceTokens, [workspaceId])).rows.map(
        toServiceTokenRow,
      );
    },
    revokeServiceToken(workspaceId, id, revokedAt, audit) {
      return principals.announce('token', id, (notify) =>
        transaction(async (client) => {
          const result = await client.query(SQL.revokeServiceToken, [revokedAt, workspaceId, id]);
          const found = result.rowCount === 1;
          if (found) await notify(client);
          if (found && audit) await appendAudit(client, audit);
          return found;
        }),
      );
    },

    /** Heard through this node's LISTEN connection (see principal-listener.ts). */
    watchPrincipals: (watcher) => principals.watch(watcher),
  };
}
