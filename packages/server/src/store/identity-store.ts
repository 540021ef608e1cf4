/**
 * Workspaces, their users and service tokens: `IdentityStore`, and `PrincipalStore`, the part
 * authentication reads (through a cache told of every change, services/identity/principal-cache.ts).
 *
 * Invariants every backend keeps:
 * - a workspace always keeps an active owner: `updateUser` refuses the change that would
 *   remove the last one, also when two such changes race;
 * - every change to a user or service token is told to the principal watchers before it is
 *   acknowledged (on PostgreSQL, to every node: see backends/postgres/principal-listener.ts);
 * - the audit entry given with a change is written in the change's own transaction.
 */
import type { Role } from '@ductape/sdk';
import type { WrappedDataKey } from '../crypto/keyring.js';
import type { AuditAppend } from './audit-store.js';

export interface WorkspaceRow {
  id: string;
  name: string;
  /** unix milliseconds */
  createdAt: number;
}

export interface UserRow {
  id: string;
  workspaceId: string;
  role: Role;
  /** SHA-256 of the private key */
  keyHash: Buffer;
  keyGeneration: number;
  createdAt: number;
  removedAt: number | null;
}

/** Fields of a user that can change. */
export type UserChanges = Partial<Pick<UserRow, 'role' | 'removedAt' | 'keyHash' | 'keyGeneration'>>;

/** A service token: a machine identity bound to one app and one environment. */
export interface ServiceTokenRow {
  id: string;
  workspaceId: string;
  app: string;
  env: string;
  description: string | null;
  /** SHA-256 of the whole token */
  tokenHash: Buffer;
  /** id of the user who minted it */
  createdBy: string;
  /** unix milliseconds */
  createdAt: number;
  /** unix seconds, like every expiry on the wire */
  expiresAt: number;
  /** unix milliseconds */
  revokedAt: number | null;
}

/** What a principal cache holds: users and service tokens, by id. */
export type PrincipalKind = 'user' | 'token';

/** Told of changes to users and service tokens, for a cache of them (services/identity/principal-cache.ts). */
export interface PrincipalWatcher {
  /**
   * One user or token changed: by this process (before the change is acknowledged) or, on
   * PostgreSQL, by any node (when its notification arrives).
   */
  changed(kind: PrincipalKind, id: string): void;
  /** Changes may have gone unseen (another process committed, a listener reconnected): forget everything. */
  reset(): void;
}

export interface PrincipalFeed {
  /**
   * Whether cached rows may be used right now: false while changes could go unseen (on
   * PostgreSQL, while the node's listener is not connected). On SQLite it first notices other
   * processes' commits (and resets). Cheap: called on every authentication.
   */
  fresh(): boolean;
  /** Stops telling this watcher. */
  stop(): Promise<void>;
}

/** What authentication reads, and how a cache of it hears of changes. */
export interface PrincipalStore {
  getUser(id: string): Promise<UserRow | undefined>;
  getServiceToken(id: string): Promise<ServiceTokenRow | undefined>;
  /**
   * Tells `watcher` of every change to users and service tokens that a cache of them must
   * honour. Changes go through `updateUser` and `revokeServiceToken`; new rows need no
   * telling (a cache holds only rows that exist).
   */
  watchPrincipals(watcher: PrincipalWatcher): PrincipalFeed;
}

export interface IdentityStore extends PrincipalStore {
  /** Creates a workspace with its first data key and its owner, atomically. */
  createWorkspace(
    workspace: WorkspaceRow,
    dataKey: WrappedDataKey,
    owner: UserRow,
    audit?: AuditAppend,
  ): Promise<void>;
  getWorkspace(id: string): Promise<WorkspaceRow | undefined>;
  /**
   * Up to `limit` workspace ids after `after`, in order: audit verification walks the
   * workspaces, since each must have a chain, not only the chains it happens to find.
   */
  workspaceIds(after: string | undefined, limit: number): Promise<string[]>;

  insertUser(user: UserRow, audit?: AuditAppend): Promise<void>;
  /** Every user of a workspace, removed ones included, oldest first. */
  listUsers(workspaceId: string): Promise<UserRow[]>;
  /**
   * Changes a user of the workspace, atomically. Refuses ('last-owner') a change that would
   * leave the workspace without an active owner, also when two such changes race. The
   * audit entry is written only with a change that happens.
   */
  updateUser(
    workspaceId: string,
    id: string,
    changes: UserChanges,
    audit?: AuditAppend,
  ): Promise<UserRow | undefined | 'last-owner'>;

  insertServiceToken(row: ServiceTokenRow, audit?: AuditAppend): Promise<void>;
  /** Every token of a workspace, newest first. */
  listServiceTokens(workspaceId: string): Promise<ServiceTokenRow[]>;
  /** Marks a token revoked (keeping its first revoke time); false when no such token in the workspace. */
  revokeServiceToken(
    workspaceId: string,
    id: string,
    revokedAt: number,
    audit?: AuditAppend,
  ): Promise<boolean>;
}
