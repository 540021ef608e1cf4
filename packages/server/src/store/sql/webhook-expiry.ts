/**
 * Expiry events (`secret.expiring`, `secret.expired`): which secrets a scan announces, at
 * which stage, and the event it writes for each. Shared by both backends.
 */
import { newId } from '../../ids.js';
import type { OutboxEvent } from '../webhook-store.js';

/**
 * The secrets an expiry scan announces, with the stage each is at, up to a limit, soonest
 * expiry first. Left out: revoked secrets, secrets whose stage (or a later one) was announced
 * already, and secrets that expired before their workspace had a webhook (a first webhook is
 * not flooded with old news). Only the latest stage is announced: a secret created 12 hours
 * before it expires gets the 1-day notice, not the 7-day one too. Lead times are whole
 * seconds from the configuration (numbers, never text), written into the statement. Driven
 * from the workspaces that have a webhook, through the partial index `secrets_expiry`
 * (workspace_id, expires_at): a store of a million secrets without expiries costs nothing.
 */
export function expiryCandidates(leadsSeconds: readonly number[]): string {
  const ascending = [...leadsSeconds].sort((a, b) => a - b).map((lead) => Math.floor(lead));
  const stages = ascending
    .map((lead) => `WHEN s.expires_at <= CAST(? AS BIGINT) + ${lead} THEN ${lead}`)
    .join(' ');
  return `SELECT c.id, c.workspace_id, c.key, c.version, c.expires_at, c.scope, c.envs, c.stage FROM (
      SELECT s.id, s.workspace_id, s.key, s.version, s.expires_at, s.scope, s.envs,
        CASE WHEN s.expires_at <= ? THEN 0 ${stages} END AS stage
      FROM (SELECT workspace_id, MIN(created_at) AS first_webhook FROM webhooks GROUP BY workspace_id) w
      JOIN secrets s ON s.workspace_id = w.workspace_id
      WHERE s.expires_at IS NOT NULL AND s.expires_at <= ? AND s.revoked_at IS NULL
        AND s.expires_at * 1000 > w.first_webhook
    ) c
    WHERE NOT EXISTS (SELECT 1 FROM webhook_expiry_marks m
      WHERE m.secret_id = c.id AND m.expires_at = c.expires_at AND m.lead_seconds <= c.stage)
    ORDER BY c.expires_at, c.id LIMIT ?`;
}

/** The values of `expiryCandidates(leads)`'s placeholders. */
export function expiryCandidateValues(
  leadsSeconds: readonly number[],
  nowSeconds: number,
  limit: number,
): number[] {
  const horizon = nowSeconds + Math.max(0, ...leadsSeconds);
  return [nowSeconds, ...leadsSeconds.map(() => nowSeconds), horizon, limit];
}

export interface ExpiryCandidate<L = string[]> {
  id: string;
  workspace_id: string;
  key: string;
  version: number;
  expires_at: number | string;
  scope: L;
  envs: L;
  /** 0: expired; else the lead time (seconds) it is within. */
  stage: number;
}

/** The expiry event of a candidate. */
export function expiryEvent(c: ExpiryCandidate, now: number): OutboxEvent {
  return {
    id: newId(),
    workspaceId: c.workspace_id,
    type: c.stage === 0 ? 'secret.expired' : 'secret.expiring',
    key: c.key,
    version: c.version,
    actorType: 'system',
    actorId: null,
    expiresAt: Number(c.expires_at),
    scope: c.scope,
    envs: c.envs,
    createdAt: now,
  };
}
