import { useRef } from 'preact/hooks';
import { CopyButton } from './CopyButton.js';

/**
 * A credential shown this once (a new member's private key, a service token). It is not
 * stored anywhere by the console: "Done" forgets it.
 */
export function ShownOnce({
  title,
  label,
  secret,
  details,
  onDone,
}: {
  title: string;
  label: string;
  secret: string;
  details?: [string, string][];
  onDone: () => void;
}) {
  const field = useRef<HTMLInputElement>(null);
  return (
    <section class="shown-once" aria-labelledby="shown-once-title">
      <h2 id="shown-once-title">{title}</h2>
      <p class="warning">
        <strong>Copy it now: it is shown only this once.</strong> Ductape keeps only a hash of it and cannot
        show it again. Hand it over through a safe channel.
      </p>
      {details ? (
        <dl class="meta">
          {details.map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>
                <code>{value}</code>
              </dd>
            </div>
          ))}
        </dl>
      ) : null}
      <label for="shown-once-value">{label}</label>
      <div class="inline">
        <input
          id="shown-once-value"
          ref={field}
          class="mono"
          readOnly
          value={secret}
          autocomplete="off"
          spellcheck={false}
          onFocus={(event) => event.currentTarget.select()}
        />
        <CopyButton
          text={() => secret}
          label={`Copy ${label.toLowerCase()}`}
          fallbackTarget={() => field.current}
        />
      </div>
      <button type="button" class="primary" onClick={onDone}>
        Done, I have copied it
      </button>
    </section>
  );
}
