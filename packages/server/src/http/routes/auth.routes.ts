import type { FastifyInstance } from 'fastify';
import type { SignInService } from '../../services/identity/sign-in.service.js';
import { originOf } from '../origin.js';
import { parse, tokenBody } from '../schemas.js';

export function registerAuthRoutes(app: FastifyInstance, signIn: SignInService): void {
  /**
   * Exchanges (workspace_id, user_id, private_key) for a short-lived access token. Limited per
   * client address and per (address, user id) (see rate-limit.ts); a 429 carries Retry-After
   * (see errors.ts).
   */
  app.post('/v1/auth/token', async (request) =>
    signIn.issueToken(parse(tokenBody, request.body, 'request body'), originOf(request)),
  );
}
