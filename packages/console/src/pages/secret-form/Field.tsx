/** A labelled form field whose error (the server's message) sits right under it. */
export function Field({
  name,
  label,
  value,
  onInput,
  error,
  hint,
  type = 'text',
  multiline = false,
  readOnly = false,
  mono = false,
}: {
  name: string;
  label: string;
  value: string;
  onInput: (text: string) => void;
  error?: string | undefined;
  hint?: string;
  type?: string;
  multiline?: boolean;
  readOnly?: boolean;
  mono?: boolean;
}) {
  const id = `field-${name}`;
  const described = [hint ? `hint-${name}` : '', error ? `error-${name}` : ''].filter(Boolean).join(' ');
  const common = {
    id,
    name,
    value,
    readOnly,
    class: mono ? 'mono' : undefined,
    spellcheck: false,
    autocomplete: 'off',
    'aria-invalid': error ? true : undefined,
    'aria-describedby': described || undefined,
    onInput: (event: Event) => onInput((event.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {multiline ? <textarea rows={4} {...common} /> : <input type={type} {...common} />}
      {hint ? (
        <p class="hint" id={`hint-${name}`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={`error-${name}`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}
