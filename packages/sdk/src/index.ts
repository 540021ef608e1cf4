import { AuditClient } from './audit.js';
import { SecretsClient } from './secrets.js';
import { TokensClient } from './tokens.js';
import { UsersClient } from './users.js';
import { WebhooksClient } from './webhooks.js';
import { Transport } from './transport.js';
import type { WhoAmI } from './types.js';

export { DuctapeError, isDuctapeError } from './errors.js';
export type { DuctapeErrorResponse } from './errors.js';
export { AuditClient } from './audit.js';
export { SecretsClient } from './secrets.js';
export { TokensClient } from './tokens.js';
export { UsersClient } from './users.js';
export { WebhooksClient } from './webhooks.js';
export type { WebhookDeliveriesOptions } from './webhooks.js';
export { verifyWebhook, WebhookVerificationError, WEBHOOK_SIGNATURE_HEADER } from './verify-webhook.js';
export type { VerifyWebhookOptions, WebhookVerificationReason } from './verify-webhook.js';
export * from './types.js';

/** Where the SDK looks for the server when `url` is not given and `DUCTAPE_URL` is unset. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Options of `new Ductape(...)`. Give either user credentials or a `token`. */
export interface DuctapeOptions {
  workspace_id?: string;
  user_id?: string;
  /** The user's private key, shown once when the user was created. */
  private_key?: string;
  /** A ready-made bearer token instead of user credentials; defaults to `DUCTAPE_TOKEN`. */
  token?: string;
  /** The server's base URL; defaults to `DUCTAPE_URL`, else `http://127.0.0.1:8080`. */
  url?: string;
  /** Per-request timeout in milliseconds (default 30000). */
  timeoutMs?: number;
  /** A `fetch` implementation; defaults to the global one. */
  fetch?: typeof fetch;
}

function env(name: string): string | undefined {
  // No Node.js types here: the SDK also runs where `process` does not exist.
  const holder = globalThis as { process?: { env?: Record<string, string | undefined> } };
  const value = holder.process?.env?.[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The Ductape client.
 *
 * @example
 * import Ductape from '@ductape/sdk';
 *
 * const ductape = new Ductape({
 *   workspace_id: 'your_workspace_id',
 *   user_id: 'your_user_id',
 *   private_key: 'your_private_key',
 * });
 * await ductape.init();
 * const secret = await ductape.secrets.fetch('STRIPE_API_KEY');
 */
export default class Ductape {
  /** Secrets of the workspace: create, fetchAll/list, fetch, metadata, exists, update, delete, revoke, restore. */
  readonly secrets: SecretsClient;
  /** Service tokens for programs: create, list, revoke. */
  readonly tokens: TokensClient;
  /** Members of the workspace: list, create, setRole, remove, rotateKey. */
  readonly users: UsersClient;
  /** The workspace's audit log: list. */
  readonly audit: AuditClient;
  /** Signed calls to your URLs when secrets change or near expiry: create, list, delete, deliveries. */
  readonly webhooks: WebhooksClient;
  private readonly transport: Transport;

  constructor(options: DuctapeOptions = {}) {
    const { workspace_id, user_id, private_key } = options;
    const given = [workspace_id, user_id, private_key].filter((v) => v !== undefined).length;
    if (given > 0 && given < 3) {
      throw new TypeError('new Ductape(): give workspace_id, user_id and private_key together');
    }
    const token = options.token ?? (given === 0 ? env('DUCTAPE_TOKEN') : undefined);
    if (given === 0 && token === undefined) {
      throw new TypeError(
        'new Ductape(): give workspace_id, user_id and private_key, or a token (or set DUCTAPE_TOKEN)',
      );
    }
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') {
      throw new TypeError('new Ductape(): no global fetch; use Node.js 20 or later, or pass fetch');
    }
    this.transport = new Transport({
      url: options.url ?? env('DUCTAPE_URL') ?? DEFAULT_URL,
      credentials:
        given === 3
          ? {
              workspace_id: workspace_id as string,
              user_id: user_id as string,
              private_key: private_key as string,
            }
          : undefined,
      token,
      fetch: fetchImpl.bind(globalThis),
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    this.secrets = new SecretsClient(this.transport);
    this.tokens = new TokensClient(this.transport);
    this.users = new UsersClient(this.transport);
    this.audit = new AuditClient(this.transport);
    this.webhooks = new WebhooksClient(this.transport);
  }

  /** The server's base URL this client talks to. */
  get url(): string {
    return this.transport.baseUrl;
  }

  /**
   * Signs in: exchanges the credentials for a short-lived access token. Optional (the first
   * call signs in by itself) but it checks the credentials early. The token is renewed
   * transparently before it expires. Throws with status 401 on wrong credentials. With a
   * ready-made `token` there is nothing to exchange and it resolves at once.
   *
   * @example
   * await ductape.init();
   */
  async init(): Promise<void> {
    if (this.transport.canLogin) await this.transport.login();
  }

  /**
   * Who the credentials belong to: workspace, user and role (or, for a service token, its
   * app and environment).
   *
   * @example
   * const me = await ductape.whoami();
   * console.log(me.role);
   */
  whoami(): Promise<WhoAmI> {
    return this.transport.request<WhoAmI>('GET', '/v1/me');
  }
}

export { Ductape };
