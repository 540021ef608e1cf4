/** What a route's description holds: the table api-routes.ts and secret-routes.ts fill in. */
import type { ErrorCode } from '@ductape/sdk';
import type { z } from 'zod';
import type { RouteAuth } from './error-codes.js';

export type Tag =
  'health' | 'auth' | 'secrets' | 'usage' | 'tokens' | 'users' | 'audit' | 'webhooks' | 'meta';

export interface RouteDoc {
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  auth: RouteAuth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Whether the body may be left out (only rotate-key: an owner rotating another's key). */
  bodyOptional?: boolean;
  /** The successful answers, by status. */
  responses: Partial<Record<200 | 201, { description: string; schema: z.ZodType }>>;
  /** The codes of this route's own rules; those every route of its kind shares are derived (error-codes.ts). */
  errors: readonly ErrorCode[];
}

/** A route's key: its method and its path as registered with Fastify. */
export type RouteKey = `${'GET' | 'POST' | 'PATCH' | 'DELETE'} /${string}`;

export const ok = (description: string, schema: z.ZodType) => ({ 200: { description, schema } });
export const created = (description: string, schema: z.ZodType) => ({ 201: { description, schema } });
