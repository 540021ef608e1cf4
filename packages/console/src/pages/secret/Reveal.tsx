/**
 * The value, only on request. Nothing of it is in the page (DOM, attributes, storage, or any
 * answer the page received) until "Reveal" is clicked: the value is fetched at that click, so
 * the audit log records a reveal, not a page view. It hides again after 30 s, when the tab is
 * hidden, and when the person leaves the page (the component unmounts with it).
 */
import type Ductape from '@ductape/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Alert } from '../../components/Alert.js';
import { CopyButton } from '../../components/CopyButton.js';
import { messageOf } from '../../lib/errors.js';

export const REVEAL_SECONDS = 30;

export function Reveal({ client, secretKey }: { client: Ductape; secretKey: string }) {
  const [value, setValue] = useState<string | null>(null);
  const [left, setLeft] = useState(REVEAL_SECONDS);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    if (value === null) return;
    const started = Date.now();
    const tick = setInterval(() => {
      const remaining = REVEAL_SECONDS - Math.floor((Date.now() - started) / 1000);
      if (remaining <= 0) setValue(null);
      else setLeft(remaining);
    }, 250);
    const hideWhenHidden = () => {
      if (document.visibilityState === 'hidden') setValue(null);
    };
    document.addEventListener('visibilitychange', hideWhenHidden);
    return () => {
      clearInterval(tick);
      document.removeEventListener('visibilitychange', hideWhenHidden);
    };
  }, [value]);

  // Another secret shown by the same component: forget this one's value.
  useEffect(() => () => setValue(null), [secretKey]);

  const reveal = async () => {
    setBusy(true);
    setError(null);
    try {
      const secret = await client.secrets.fetch(secretKey);
      setLeft(REVEAL_SECONDS);
      setValue(secret.value);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="reveal" aria-labelledby="value-title">
      <h2 id="value-title">Value</h2>
      {value === null ? (
        <div class="inline">
          <span class="masked" aria-label="Value hidden">
            ••••••••••••
          </span>
          <button type="button" class="primary" onClick={reveal} disabled={busy}>
            {busy ? 'Revealing…' : 'Reveal'}
          </button>
        </div>
      ) : (
        <div class="revealed">
          <label for="secret-value" class="visually-hidden">
            Value of {secretKey}
          </label>
          <textarea
            id="secret-value"
            ref={field}
            class="mono value"
            readOnly
            rows={Math.min(8, value.split('\n').length)}
            value={value}
            spellcheck={false}
            autocomplete="off"
          />
          <div class="inline">
            <CopyButton text={() => value} fallbackTarget={() => field.current} />
            <button type="button" onClick={() => setValue(null)}>
              Hide
            </button>
            <span class="hint" aria-live="off">
              Hides in {left} s
            </span>
          </div>
        </div>
      )}
      {error ? <Alert kind="error">{error}</Alert> : null}
    </section>
  );
}
