/**
 * The key of every per-address limit: an IPv4 address as it is, an IPv6 address by its /64
 * however it is written, an IPv4-mapped address as its IPv4 address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey } from '../src/services/identity/client-address.js';

describe('client address key', () => {
  it('keeps an IPv4 address', () => {
    assert.equal(addressKey('203.0.113.9'), '203.0.113.9');
    assert.notEqual(addressKey('203.0.113.9'), addressKey('203.0.113.10'));
  });

  it('maps an IPv4-mapped IPv6 address to its IPv4 address', () => {
    assert.equal(addressKey('::ffff:203.0.113.9'), '203.0.113.9');
    assert.equal(addressKey('::ffff:cb00:7109'), '203.0.113.9');
  });

  it('groups an IPv6 /64, whatever the spelling, zone or interface part', () => {
    const key = addressKey('2001:db8:aa:bb::1');
    for (const same of [
      '2001:db8:aa:bb:ffff:ffff:ffff:ffff',
      '2001:0DB8:00AA:00BB:0:0:0:2',
      '2001:db8:aa:bb:1234::',
    ]) {
      assert.equal(addressKey(same), key, same);
    }
    assert.equal(key, '2001:db8:aa:bb::/64');
    assert.notEqual(addressKey('2001:db8:aa:bc::1'), key);
    assert.equal(addressKey('fe80::1%eth0'), addressKey('fe80::2'));
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
  });

  it('keeps anything that is not an IP address as it is', () => {
    assert.equal(addressKey('local'), 'local');
    assert.equal(addressKey(''), '');
  });
});
