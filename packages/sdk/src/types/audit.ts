/** Wire types of the audit log. */
import type { Role } from './members.js';

/** What an audit entry records. */
export type AuditAction =
  | 'auth.sign_in'
  | 'workspace.create'
  | 'secret.create'
  | 'secret.update'
  | 'secret.rollback'
  | 'secret.delete'
  | 'secret.revoke'
  | 'secret.restore'
  | 'secret.read'
  | 'secret.resolve'
  | 'secret.export'
  | 'user.create'
  | 'user.set_role'
  | 'user.remove'
  | 'user.rotate_key'
  | 'token.create'
  | 'token.revoke'
  | 'webhook.create'
  | 'webhook.delete'
  | 'key.rotate_master'
  | 'key.rotate_workspace'
  | 'key.rotate_server'
  | 'key.reencrypt'
  | 'audit.list';

/** Every audit action, in documentation order. */
export const AUDIT_ACTIONS: readonly AuditAction[] = [
  'auth.sign_in',
  'workspace.create',
  'secret.create',
  'secret.update',
  'secret.rollback',
  'secret.delete',
  'secret.revoke',
  'secret.restore',
  'secret.read',
  'secret.resolve',
  'secret.export',
  'user.create',
  'user.set_role',
  'user.remove',
  'user.rotate_key',
  'token.create',
  'token.revoke',
  'webhook.create',
  'webhook.delete',
  'key.rotate_master',
  'key.rotate_workspace',
  'key.rotate_server',
  'key.reencrypt',
  'audit.list',
];

/** Who did it: a user (with the role they had), a service token, an operator at the server, or nobody signed in. */
export interface AuditActor {
  type: 'user' | 'token' | 'operator' | 'anonymous';
  /** The user or token id; the operator's account name; for a failed sign-in, the user id as sent (null unless shaped like one). */
  id: string | null;
  /** A user's role at the time; null for the others. */
  role: Role | null;
}

/**
 * One entry of a workspace's audit log. Never holds a value, a private key or a token.
 * `seq` numbers the workspace's entries from 1 without gaps: the entries form a hash chain.
 */
export interface AuditEntry {
  seq: number;
  /** ISO 8601. */
  at: string;
  workspace_id: string;
  actor: AuditActor;
  action: AuditAction;
  /** The secret concerned, when there is one. */
  key: string | null;
  /** The secret's version concerned, when there is one. */
  version: number | null;
  /** `success`, `refused` (the caller got a 4xx; `code` says why) or `failed` (a 5xx). */
  outcome: 'success' | 'refused' | 'failed';
  /** The error code of a refusal or failure. */
  code: string | null;
  request_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  /** Extra facts of the action (target user, new role, token app and env...). */
  detail: Record<string, string | number | boolean | null> | null;
}

/** Filters of `ductape.audit.list()`. Every one is optional. */
export interface AuditQuery {
  /** Entries at or after this time (a Date or ISO 8601). */
  since?: Date | string;
  /** Entries before this time (a Date or ISO 8601). */
  until?: Date | string;
  /** Only entries about this secret key. */
  key?: string;
  /** Only entries by this user or token id. */
  actor?: string;
  /** Only entries of this action. */
  action?: AuditAction;
  /** At most this many entries (1-1000, default 100). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/** A page of the audit log, newest entry first. */
export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `cursor` for the next (older) page; null when there is none. */
  next_cursor: string | null;
}
