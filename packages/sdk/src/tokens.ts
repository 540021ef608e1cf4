import type { Transport } from './transport.js';
import type { CreatedToken, CreateTokenInput, ServiceToken } from './types.js';

/** Service tokens: machine identities bound to one app and one environment. Admin role. */
export class TokensClient {
  private readonly transport: Transport;

  /** @internal Use `new Ductape(...).tokens`. */
  constructor(transport: Transport) {
    this.transport = transport;
  }

  /**
   * Mints a token that can fetch, resolve and export only the secrets whose scope and
   * environments allow `app` and `env`. The token is in this answer only: store it now.
   *
   * @example
   * const { token } = await ductape.tokens.create({ app: 'stripe_payments', env: 'prd', ttl_seconds: 30 * 86400 });
   * const service = new Ductape({ token });
   */
  create(input: CreateTokenInput): Promise<CreatedToken> {
    return this.transport.request<CreatedToken>('POST', '/v1/tokens', input);
  }

  /**
   * Every service token of the workspace, newest first: metadata only.
   *
   * @example
   * for (const t of await ductape.tokens.list()) console.log(t.token_id, t.app, t.env, t.status);
   */
  async list(): Promise<ServiceToken[]> {
    return (await this.transport.request<{ tokens: ServiceToken[] }>('GET', '/v1/tokens')).tokens;
  }

  /**
   * Revokes a token at once, on every server node. Returns true.
   *
   * @example
   * await ductape.tokens.revoke('6b0a15a869b9506474f5848f');
   */
  async revoke(tokenId: string): Promise<boolean> {
    const answer = await this.transport.request<{ revoked: boolean }>(
      'DELETE',
      `/v1/tokens/${encodeURIComponent(tokenId)}`,
    );
    return answer.revoked;
  }
}
