import type { ComponentChildren } from 'preact';

/** A table that may scroll sideways (or down): focusable and named, so the keyboard can scroll it. */
export function ScrollRegion({
  label,
  extra,
  children,
}: {
  label: string;
  extra?: string;
  children: ComponentChildren;
}) {
  return (
    <div class={`table-scroll${extra ? ` ${extra}` : ''}`} role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
