/**
 * A one-line progress bar on stderr, redrawn in place. Only on a terminal: in a pipe or a
 * log file a bar is noise, so there it draws nothing and the caller's report says it all.
 */

export interface Progress {
  /** `done` of the total are finished. */
  update(done: number): void;
  /** Removes the bar, leaving the line clean for what comes next. */
  finish(): void;
}

/** `[############------------]  500/1200 label` */
export function renderBar(done: number, total: number, label: string, width = 24): string {
  const share = total === 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(share * width);
  const count = `${String(done).padStart(String(total).length)}/${total}`;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${count} ${label}`;
}

export function progressBar(
  total: number,
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (stream.isTTY !== true) return { update: () => undefined, finish: () => undefined };
  const draw = (done: number): void => {
    stream.write(`\r${renderBar(done, total, label)}\u001b[K`);
  };
  draw(0);
  return {
    update: draw,
    finish: () => stream.write('\r\u001b[K'),
  };
}
