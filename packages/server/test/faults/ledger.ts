/**
 * A ledger of writes sent to a server that may die at any moment, and the check of what the
 * store holds afterwards against it.
 *
 * Every request ends in one of three ways: `acked` (a 2xx: it happened, exactly as
 * answered), `refused` (an error answer, or the connection was refused: it never reached
 * the server, so it did not happen) or `unknown` (no answer: it happened or it did not).
 */
export type Outcome = 'acked' | 'refused' | 'unknown';

export interface Write {
  op: 'create' | 'update' | 'delete';
  key: string;
  /** The value sent (create and update). */
  value?: string;
  outcome: Outcome;
  /** The version the server answered with (acknowledged creates and updates). */
  version?: number;
  /** The HTTP status, or the network error's code when there was no answer. */
  answer: number | string;
}

/** What the store holds for one key at the end: undefined when it is absent. */
export interface Stored {
  version: number;
  /** The value of every version, 1 to `version`. */
  history: Map<number, string>;
}

export class Ledger {
  private readonly byKey = new Map<string, Write[]>();
  private readonly counts: Record<Outcome, number> = { acked: 0, refused: 0, unknown: 0 };

  record(write: Write): void {
    const list = this.byKey.get(write.key) ?? [];
    list.push(write);
    this.byKey.set(write.key, list);
    this.counts[write.outcome]++;
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }

  count(outcome: Outcome): number {
    return this.counts[outcome];
  }

  /** Every answer that is neither a 2xx nor expected: a crash must never produce those. */
  unexpectedAnswers(): Write[] {
    const all = [...this.byKey.values()].flat();
    return all.filter((w) => typeof w.answer === 'number' && w.answer >= 300);
  }

  /** How many of the key's unanswered creates and updates did happen (their value is stored). */
  unansweredButDone(key: string, stored: Stored | undefined): number {
    const values = new Set(stored?.history.values());
    const writes = this.byKey.get(key) ?? [];
    return writes.filter((w) => w.outcome === 'unknown' && w.value !== undefined && values.has(w.value))
      .length;
  }

  /**
   * The problems found for one key, in words (empty when the stored state is one the ledger
   * allows). Keys are never re-created after a delete, so a delete ends a key's story.
   */
  check(key: string, stored: Stored | undefined): string[] {
    const writes = this.byKey.get(key) ?? [];
    const problems: string[] = [];
    const creates = writes.filter((w) => w.op === 'create');
    const deletes = writes.filter((w) => w.op === 'delete');
    const ackedDelete = deletes.some((w) => w.outcome === 'acked');
    const maybeDeleted = deletes.some((w) => w.outcome === 'unknown');
    const createdSurely = creates.some((w) => w.outcome === 'acked');
    const createdMaybe = creates.some((w) => w.outcome === 'unknown');

    if (stored === undefined) {
      if (createdSurely && !ackedDelete && !maybeDeleted) {
        problems.push(`${key}: acknowledged create is missing (no delete was sent)`);
      }
      return problems;
    }
    if (writes.length === 0) return [`${key}: present but never requested`];
    if (ackedDelete) problems.push(`${key}: present after an acknowledged delete`);
    if (!createdSurely && !createdMaybe)
      problems.push(`${key}: present but its create never reached the server`);

    // Every stored version holds a value sent for this key, answered or not, each value once.
    const possible = new Set(
      writes.filter((w) => w.value !== undefined && w.outcome !== 'refused').map((w) => w.value as string),
    );
    const refused = new Set(
      writes.filter((w) => w.value !== undefined && w.outcome === 'refused').map((w) => w.value as string),
    );
    const seen = new Set<string>();
    for (let v = 1; v <= stored.version; v++) {
      const value = stored.history.get(v);
      if (value === undefined) {
        problems.push(`${key}: version ${v} of ${stored.version} is missing`);
        continue;
      }
      if (refused.has(value)) problems.push(`${key}: version ${v} holds a value whose request was refused`);
      else if (!possible.has(value)) problems.push(`${key}: version ${v} holds a value that was never sent`);
      if (seen.has(value)) problems.push(`${key}: version ${v} repeats an earlier version's value`);
      seen.add(value);
    }
    // Every acknowledged write is there, at the version it was acknowledged with.
    for (const w of writes) {
      if (w.outcome !== 'acked' || w.version === undefined) continue;
      if (w.version > stored.version) {
        problems.push(`${key}: acknowledged version ${w.version} lost (the store is at ${stored.version})`);
      } else if (stored.history.get(w.version) !== w.value) {
        problems.push(`${key}: version ${w.version} does not hold the acknowledged ${w.op}'s value`);
      }
    }
    return problems;
  }
}
