/**
 * verifyWebhook against signatures made independently here with node:crypto, as the server's
 * contract states them: HMAC-SHA256 keyed with the whole `whsec_` string, over `<t>.<raw body>`.
 * Each way a call can be forged, altered, replayed or garbled is refused with its reason, and
 * never with the secret in the message.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { verifyWebhook, WebhookVerificationError, type WebhookVerificationReason } from '../src/index.js';

const SECRET = `whsec_${randomBytes(32).toString('base64url')}`;
const NOW_MS = 1_790_000_000_000;
const T = NOW_MS / 1000;

const BODY = JSON.stringify({
  id: 'd1a2b3c4d5e6f7a8b9c0d1e2',
  event_id: 'e1a2b3c4d5e6f7a8b9c0d1e2',
  type: 'secret.expiring',
  created_at: '2026-09-21T13:46:40.000Z',
  workspace_id: '6b0a15a869b9506474f5848f',
  data: { key: 'STRIPE_API_KEY', version: 3, actor: { type: 'system', id: null }, expires_at: T + 86_400 },
});

function sign(body: string | Uint8Array, t: number, secret = SECRET): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${t}.`).update(body).digest('hex');
}
const header = (t: number, ...sigs: string[]): string => [`t=${t}`, ...sigs.map((s) => `v1=${s}`)].join(',');

async function refusal(promise: Promise<unknown>): Promise<WebhookVerificationError> {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof WebhookVerificationError, `not a WebhookVerificationError: ${String(error)}`);
  assert.ok(!error.message.includes(SECRET) && !error.message.includes(SECRET.slice(6)), 'secret in message');
  return error;
}

async function expectReason(
  options: Partial<Parameters<typeof verifyWebhook>[0]>,
  reason: WebhookVerificationReason,
): Promise<void> {
  const error = await refusal(
    verifyWebhook({
      payload: BODY,
      header: header(T, sign(BODY, T)),
      secret: SECRET,
      now: NOW_MS,
      ...options,
    }),
  );
  assert.equal(error.reason, reason, error.message);
}

describe('verifyWebhook', () => {
  it('returns the parsed payload of an authentic call, given as a string or as bytes', async () => {
    const event = await verifyWebhook({
      payload: BODY,
      header: header(T, sign(BODY, T)),
      secret: SECRET,
      now: NOW_MS,
    });
    assert.deepEqual(event, JSON.parse(BODY));
    const bytes = Buffer.from(BODY);
    const again = await verifyWebhook({
      payload: bytes,
      header: header(T, sign(bytes, T)),
      secret: SECRET,
      now: NOW_MS,
    });
    assert.equal(again.data.key, 'STRIPE_API_KEY');
  });

  it('verifies non-ASCII bodies byte for byte, and takes a Date or a header array', async () => {
    const body = JSON.stringify({ id: 'x', type: 'secret.created', note: 'ü 漢字 🔑 \u2028' });
    const event = await verifyWebhook({
      payload: new Uint8Array(Buffer.from(body)),
      header: [header(T, sign(body, T))],
      secret: SECRET,
      now: new Date(NOW_MS),
    });
    assert.equal((event as unknown as { note: string }).note, 'ü 漢字 🔑 \u2028');
  });

  it('refuses a tampered body, a re-serialised one, and a wrong or truncated secret', async () => {
    await expectReason({ payload: BODY.replace('STRIPE_API_KEY', 'STRIPE_API_KEX') }, 'signature_mismatch');
    await expectReason({ payload: JSON.stringify(JSON.parse(BODY), null, 1) }, 'signature_mismatch');
    await expectReason({ payload: BODY + '\n' }, 'signature_mismatch');
    await expectReason({ secret: `whsec_${randomBytes(32).toString('base64url')}` }, 'signature_mismatch');
    await expectReason({ secret: SECRET.slice(0, -1) }, 'signature_mismatch');
  });

  it('refuses a signature made with the secret without its whsec_ prefix', async () => {
    const bare = SECRET.slice('whsec_'.length);
    await expectReason({ header: header(T, sign(BODY, T, bare)) }, 'signature_mismatch');
  });

  it('refuses a timestamp moved away from the one signed (replay with a fresh t)', async () => {
    const old = T - 3600;
    await expectReason({ header: header(T, sign(BODY, old)) }, 'signature_mismatch');
  });

  it('refuses an authentic call signed too long ago, or too far ahead, as outside the tolerance', async () => {
    const old = T - 301;
    await expectReason({ header: header(old, sign(BODY, old)) }, 'timestamp_outside_tolerance');
    const ahead = T + 301;
    await expectReason({ header: header(ahead, sign(BODY, ahead)) }, 'timestamp_outside_tolerance');
    // Inside the tolerance either way, and a wider tolerance admits the old one.
    const edge = T - 300;
    await verifyWebhook({
      payload: BODY,
      header: header(edge, sign(BODY, edge)),
      secret: SECRET,
      now: NOW_MS,
    });
    await verifyWebhook({
      payload: BODY,
      header: header(old, sign(BODY, old)),
      secret: SECRET,
      now: NOW_MS,
      toleranceSeconds: 600,
    });
  });

  it('accepts when any one of several v1 entries matches, and ignores other schemes', async () => {
    const wrong = sign(BODY, T, `whsec_${randomBytes(32).toString('base64url')}`);
    const good = sign(BODY, T);
    const headerText = `t=${T}, v0=abc, v1=${wrong}, v1=${good.toUpperCase()}`;
    await verifyWebhook({ payload: BODY, header: headerText, secret: SECRET, now: NOW_MS });
    await verifyWebhook({ payload: BODY, header: header(T, good, wrong), secret: SECRET, now: NOW_MS });
    await expectReason({ header: header(T, wrong, wrong) }, 'signature_mismatch');
  });

  it('refuses a missing, empty or garbled header with the reason', async () => {
    const good = sign(BODY, T);
    await expectReason({ header: undefined }, 'missing_header');
    await expectReason({ header: null }, 'missing_header');
    await expectReason({ header: '  ' }, 'missing_header');
    await expectReason({ header: `t=${T}` }, 'no_signature');
    await expectReason({ header: `t=${T},v0=${good}` }, 'no_signature');
    await expectReason({ header: `v1=${good}` }, 'malformed_header');
    await expectReason({ header: `t=${T},t=${T},v1=${good}` }, 'malformed_header');
    await expectReason({ header: `t=soon,v1=${good}` }, 'malformed_header');
    await expectReason({ header: `t=${T * 1000}.5,v1=${good}` }, 'malformed_header');
    await expectReason({ header: `t=${T},v1=${good.slice(1)}` }, 'malformed_header');
    await expectReason({ header: `t=${T},v1=${'zz'.repeat(32)}` }, 'malformed_header');
    await expectReason({ header: `t=${T};v1=${good}` }, 'malformed_header');
    await expectReason({ header: `${header(T, good)},${'v1='.padEnd(9000, 'a')}` }, 'malformed_header');
  });

  it('refuses a correctly signed body that is not a webhook event', async () => {
    for (const body of ['not json', '[1,2]', 'null', '{"id":1,"type":"secret.created"}']) {
      await expectReason({ payload: body, header: header(T, sign(body, T)) }, 'invalid_payload');
    }
    const latin1 = Buffer.from([0x7b, 0xff, 0x7d]);
    await expectReason({ payload: latin1, header: header(T, sign(latin1, T)) }, 'invalid_payload');
  });

  it('says how it was misused, without echoing the secret', async () => {
    const call = (options: Record<string, unknown>) =>
      verifyWebhook({ payload: BODY, header: header(T, sign(BODY, T)), secret: SECRET, ...options } as never);
    await assert.rejects(call({ secret: SECRET.slice(6) }), (e: Error) => {
      assert.ok(e instanceof TypeError && /whsec_/.test(e.message) && !e.message.includes(SECRET.slice(6)));
      return true;
    });
    await assert.rejects(call({ secret: undefined }), TypeError);
    await assert.rejects(call({ payload: JSON.parse(BODY) as unknown }), /raw body/);
    await assert.rejects(call({ toleranceSeconds: 0 }), /toleranceSeconds/);
    await assert.rejects(call({ toleranceSeconds: Number.NaN }), /toleranceSeconds/);
  });

  it('property: any body verifies with its own signature and fails with any one-byte change', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (text, at, flip) => {
          const body = Buffer.from(JSON.stringify({ id: 'd', type: 'secret.updated', text }));
          const signed = header(T, sign(body, T));
          const event = await verifyWebhook({ payload: body, header: signed, secret: SECRET, now: NOW_MS });
          assert.equal((event as unknown as { text: string }).text, JSON.parse(body.toString()).text);

          const changed = Buffer.from(body);
          const i = at % changed.length;
          changed[i] = (changed[i] as number) ^ flip;
          const error = await refusal(
            verifyWebhook({ payload: changed, header: signed, secret: SECRET, now: NOW_MS }),
          );
          assert.equal(error.reason, 'signature_mismatch');
        },
      ),
      { numRuns: 300 },
    );
  });
});
