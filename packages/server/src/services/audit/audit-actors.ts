/**
 * Who an audit entry names and how an outcome is recorded: the actor (a user, a service
 * token, an operator at the server, or a caller not signed in), the request it came from, and
 * the columns they become. Never a value, private key or token.
 */
import { userInfo } from 'node:os';
import { AppError } from '../../errors.js';
import type { AuditEvent } from '../../store/types.js';
import type { Principal, RequestOrigin } from '../identity/principal.js';

/** Someone at the server running an operator command (`ductape-server workspace create`...). */
export interface OperatorActor {
  kind: 'operator';
  name: string;
}

/** A caller who is not signed in: a failed sign-in, with the user id as sent. */
export interface AnonymousActor {
  kind: 'anonymous';
  claimedUserId: string;
  origin?: RequestOrigin;
}

export type AuditActor = Principal | OperatorActor | AnonymousActor;

export type AuditDetail = Record<string, string | number | boolean | null>;

export interface AuditFields {
  key?: string | null;
  version?: number | null;
  outcome?: AuditEvent['outcome'];
  code?: string | null;
  detail?: AuditDetail | null;
}

/** The chain of sign-ins to workspaces that do not exist. */
export const SYSTEM_CHAIN = 'system';

/** The operator running this process, as named in entries. */
export function operatorActor(): OperatorActor {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry (some containers): keep 'unknown'.
  }
  return { kind: 'operator', name };
}

const USER_AGENT_MAX = 256;
const USER_ID = /^[0-9a-f]{24}$/;

export function actorColumns(actor: AuditActor): Pick<AuditEvent, 'actorType' | 'actorId' | 'actorRole'> {
  switch (actor.kind) {
    case 'user':
      return { actorType: 'user', actorId: actor.userId, actorRole: actor.role };
    case 'token':
      return { actorType: 'token', actorId: actor.tokenId, actorRole: null };
    case 'operator':
      return { actorType: 'operator', actorId: actor.name, actorRole: null };
    case 'anonymous':
      // Only something shaped like a user id is kept: a private key pasted into the wrong
      // field must not land in the log.
      return {
        actorType: 'anonymous',
        actorId: USER_ID.test(actor.claimedUserId) ? actor.claimedUserId : null,
        actorRole: null,
      };
  }
}

export function originColumns(actor: AuditActor): Pick<AuditEvent, 'requestId' | 'clientIp' | 'userAgent'> {
  const origin = actor.kind === 'operator' ? undefined : actor.origin;
  return {
    requestId: origin?.requestId ?? null,
    clientIp: origin?.clientIp ?? null,
    userAgent: origin?.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
  };
}

/** How an error ends up in an entry; undefined for errors that say nothing about the caller. */
export function outcomeOf(error: unknown): Pick<AuditEvent, 'outcome' | 'code'> | undefined {
  if (!(error instanceof AppError) || error.code === 'SERVICE_UNAVAILABLE') return undefined;
  return { outcome: error.status < 500 ? 'refused' : 'failed', code: error.code };
}
