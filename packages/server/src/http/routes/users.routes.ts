import type { User } from '@ductape/sdk';
import type { FastifyInstance } from 'fastify';
import type { MembersService } from '../../services/identity/members.service.js';
import type { UserRow } from '../../store/types.js';
import { parse, role, userIdParams } from '../schemas.js';
import { z } from 'zod';

/** Field by field: never the key hash. */
export function presentUser(u: UserRow): User {
  return {
    user_id: u.id,
    workspace_id: u.workspaceId,
    role: u.role,
    created_at: new Date(u.createdAt).toISOString(),
    removed_at: u.removedAt === null ? null : new Date(u.removedAt).toISOString(),
    status: u.removedAt === null ? 'active' : 'removed',
  };
}

const roleBody = z.strictObject({ role });

/** `POST /v1/users/:id/rotate-key`: your own current key, to rotate your own (see key-rotation.ts). */
const rotateKeyBody = z.strictObject({
  private_key: z
    .string({ error: 'must be a string: your current private key' })
    .min(1, { error: 'must not be empty' })
    .max(256, { error: 'is not a valid private key' })
    .optional(),
});

export function registerUsersRoutes(app: FastifyInstance, members: MembersService): void {
  app.get('/v1/users', async (request) => ({
    users: (await members.listUsers(request.principal)).map(presentUser),
  }));

  /** Adds a member; the private key is in this answer only. */
  app.post('/v1/users', { config: { body: true } }, async (request, reply) => {
    const body = parse(roleBody, request.body, 'request body');
    return reply.code(201).send(await members.addUser(request.principal, body.role));
  });

  app.patch('/v1/users/:id', { config: { body: true } }, async (request) => {
    const { id } = parse(userIdParams, request.params, 'path');
    const body = parse(roleBody, request.body, 'request body');
    return presentUser(await members.setRole(request.principal, id, body.role));
  });

  app.delete('/v1/users/:id', async (request) => {
    const { id } = parse(userIdParams, request.params, 'path');
    await members.removeUser(request.principal, id);
    return { removed: true };
  });

  /**
   * A new private key; the old one, and its access tokens, stop working at once. Rotating
   * your own key takes `{ private_key }`, your current one; an owner rotating another user's
   * key sends no body.
   */
  app.post('/v1/users/:id/rotate-key', { config: { body: true } }, async (request) => {
    const { id } = parse(userIdParams, request.params, 'path');
    const body = parse(rotateKeyBody, request.body ?? {}, 'request body');
    return members.rotateKey(request.principal, request.principal.workspaceId, id, body.private_key);
  });
}
