import { useState } from 'preact/hooks';

/**
 * Copies text to the clipboard. The Clipboard API needs a secure context (https, or
 * localhost); elsewhere the text's field is selected so that Ctrl+C copies it.
 */
export function CopyButton({
  text,
  label = 'Copy',
  fallbackTarget,
}: {
  text: () => string;
  label?: string;
  fallbackTarget?: () => HTMLElement | null;
}) {
  const [said, setSaid] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text());
      setSaid('Copied');
    } catch {
      const target = fallbackTarget?.();
      if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) target.select();
      setSaid('Selected: press Ctrl+C (or ⌘C) to copy');
    }
  };
  return (
    <span class="copy">
      <button type="button" onClick={copy}>
        {label}
      </button>
      <span class="copy-status" role="status">
        {said}
      </span>
    </span>
  );
}
