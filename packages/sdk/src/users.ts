import type { Transport } from './transport.js';
import type { Role, User, UserCredentials } from './types.js';

const path = (userId: string): string => `/v1/users/${encodeURIComponent(userId)}`;

/** Members of the workspace. Owner role, except rotating your own key. */
export class UsersClient {
  private readonly transport: Transport;

  /** @internal Use `new Ductape(...).users`. */
  constructor(transport: Transport) {
    this.transport = transport;
  }

  /**
   * Every member of the workspace, removed ones included, oldest first.
   *
   * @example
   * for (const u of await ductape.users.list()) console.log(u.user_id, u.role, u.status);
   */
  async list(): Promise<User[]> {
    return (await this.transport.request<{ users: User[] }>('GET', '/v1/users')).users;
  }

  /**
   * Adds a member. The private key is in this answer only: hand it over securely.
   *
   * @example
   * const { user_id, private_key } = await ductape.users.create({ role: 'developer' });
   */
  create(input: { role: Role }): Promise<UserCredentials> {
    return this.transport.request<UserCredentials>('POST', '/v1/users', input);
  }

  /**
   * Changes a member's role. The last owner cannot be demoted (409 `LAST_OWNER`).
   *
   * @example
   * await ductape.users.setRole('6b0a15a82c575888fb96c01d', 'admin');
   */
  setRole(userId: string, role: Role): Promise<User> {
    return this.transport.request<User>('PATCH', path(userId), { role });
  }

  /**
   * Removes a member: their access tokens stop working at once. Returns true.
   *
   * @example
   * await ductape.users.remove('6b0a15a82c575888fb96c01d');
   */
  async remove(userId: string): Promise<boolean> {
    return (await this.transport.request<{ removed: boolean }>('DELETE', path(userId))).removed;
  }

  /**
   * Replaces a user's private key (your own, or anyone's as an owner). The old key and
   * every access token issued with it stop working at once.
   *
   * Rotating your own key needs your current private key as proof (the server refuses an
   * access token alone, which could have been stolen): when this client was given the
   * credentials of `userId`, it sends that key by itself, and signs in with the new key from
   * then on. A client holding only a token cannot rotate its own key (400, naming `private_key`).
   *
   * @example
   * const { private_key } = await ductape.users.rotateKey(me.user_id);
   * // store private_key now: it is shown only this once
   */
  async rotateKey(userId: string): Promise<UserCredentials> {
    const current = this.transport.privateKeyOf(userId);
    const rotated = await this.transport.request<UserCredentials>(
      'POST',
      `${path(userId)}/rotate-key`,
      current === undefined ? undefined : { private_key: current },
    );
    if (current !== undefined) this.transport.replacePrivateKey(rotated.private_key);
    return rotated;
  }
}
