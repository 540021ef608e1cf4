/**
 * The access-token signing key, by version (see server-keys.ts). New tokens are signed with
 * the newest version not retired and name it (`k`); a presented token is checked with the
 * version it names, which must exist and not be retired. A rotation retires the previous
 * versions once the longest token lifetime has passed (or at once, `--retire-now`), so whoever
 * got hold of an older key can mint nothing with it from then on.
 *
 * On several nodes: a sign-in asks the store for the newest version first (one indexed
 * lookup), so a version added anywhere signs the very next token; a token naming a version
 * newer than a node holds makes it read the versions (at most once a second); and every node
 * reads them again within about KEY_REFRESH_MS of a retirement.
 */
import type { KeyObject } from 'node:crypto';
import type { MasterKey } from '../../crypto/key-provider.js';
import type { MasterKeys } from '../../crypto/master-keys.js';
import type { KeyStore } from '../../store/keys.js';
import { ServerKeySet, type HeldServerKey } from './server-keys.js';

export const SIGNING_KEY_NAME = 'access-token-signing';
/** Versions above this are refused without a look at the store. */
const MAX_VERSION = 1_000_000;

export type SigningKeySource = Pick<
  KeyStore,
  'serverKeyVersions' | 'addServerKeyVersion' | 'latestServerKeyVersion'
>;

export class SigningKeys {
  private constructor(
    private readonly source: SigningKeySource,
    private readonly set: ServerKeySet,
    private readonly clock: () => number,
  ) {}

  static async open(
    source: SigningKeySource,
    masters: MasterKey | MasterKeys,
    clock: () => number = Date.now,
  ): Promise<SigningKeys> {
    return new SigningKeys(source, await ServerKeySet.open(source, masters, SIGNING_KEY_NAME, clock), clock);
  }

  /** The version new tokens are signed with. */
  async forSigning(): Promise<HeldServerKey> {
    const latest = await this.source.latestServerKeyVersion(SIGNING_KEY_NAME);
    if (latest !== undefined && latest !== this.set.newest().version) {
      await this.set.reload();
    } else {
      this.set.fresh();
    }
    let current = this.set.current();
    if (!current) {
      // Every version retired (a rotation never leaves it so; a row was removed behind the
      // server's back): the next version is made here, and any node may be the one.
      await this.set.add(this.set.newest().version + 1);
      await this.set.reload();
      current = this.set.current();
    }
    if (!current) throw new Error('no access-token signing key is usable');
    return current;
  }

  /** The key that checks a token naming `version`; undefined when that version may not verify now. */
  async forVerifying(version: number): Promise<KeyObject | undefined> {
    this.set.fresh();
    let held = this.set.get(version);
    if (!held && version > this.set.newest().version && version <= MAX_VERSION) {
      // Perhaps added since this node last read them: read them again (spaced: the version
      // comes from the client, who could otherwise make every request cost a read).
      await this.set.reload({ spaced: true });
      held = this.set.get(version);
    }
    if (!held || (held.retiredAt !== null && held.retiredAt <= this.clock())) return undefined;
    return held.key;
  }
}
