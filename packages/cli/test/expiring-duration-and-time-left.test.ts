/**
 * The pure parts behind `ductape secrets list --expiring`: reading the duration (a usage error,
 * exit 2, for anything else) and the time left shown in its table.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeLeft } from '../src/commands/secrets-view.js';
import { CliError } from '../src/output.js';
import { MAX_EXPIRING_SECONDS, parseExpiring } from '../src/secret-input.js';

describe('--expiring <duration>', () => {
  it('reads s, m, h, d and w into seconds', () => {
    assert.equal(parseExpiring('3600s'), 3600);
    assert.equal(parseExpiring('90m'), 5400);
    assert.equal(parseExpiring('24h'), 86_400);
    assert.equal(parseExpiring('7d'), 604_800);
    assert.equal(parseExpiring(' 2w '), 1_209_600);
    assert.equal(parseExpiring('3650d'), MAX_EXPIRING_SECONDS);
  });

  it('refuses anything else as a usage error naming --expiring', () => {
    for (const bad of ['', '7', 'd', '0d', '-1d', '1.5d', '7 days', '3651d', '1y', '522w', '999999999w']) {
      assert.throws(
        () => parseExpiring(bad),
        (e: unknown) => e instanceof CliError && e.exitCode === 2 && e.message.startsWith('--expiring: '),
        bad,
      );
    }
  });
});

describe('the time left', () => {
  const now = 1_800_000_000_000;
  const at = (seconds: number): string => timeLeft(now / 1000 + seconds, now);
  it('shows the largest unit and the next when it is not zero', () => {
    assert.equal(at(0), '0s');
    assert.equal(at(-30), '0s');
    assert.equal(at(42), '42s');
    assert.equal(at(60), '1m');
    assert.equal(at(310), '5m 10s');
    assert.equal(at(2 * 3600 + 59), '2h');
    assert.equal(at(3 * 86_400 + 4 * 3600 + 59), '3d 4h');
    assert.equal(at(86_400 + 30), '1d');
  });
});
