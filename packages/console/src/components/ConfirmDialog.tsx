import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from '../lib/errors.js';

/**
 * A modal confirmation (the native <dialog>: focus stays inside, Escape cancels). The page
 * says what will stop working before anything happens; the confirm button names the act.
 */
export function ConfirmDialog({
  title,
  confirmLabel,
  danger = true,
  onConfirm,
  onClose,
  children,
}: {
  title: string;
  confirmLabel: string;
  danger?: boolean;
  /** Resolves when done; a rejection is shown in the dialog, which stays open. */
  onConfirm: () => Promise<void>;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      onClose();
    } catch (caught) {
      setError(messageOf(caught));
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="dialog-title" onClose={onClose}>
      <h2 id="dialog-title">{title}</h2>
      <div class="dialog-body">{children}</div>
      {error ? (
        <p class="field-error" role="alert">
          {error}
        </p>
      ) : null}
      <div class="button-row">
        <button type="button" class={danger ? 'danger' : 'primary'} disabled={busy} onClick={confirm}>
          {busy ? 'Working…' : confirmLabel}
        </button>
        <button type="button" onClick={() => dialog.current?.close()} disabled={busy}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
