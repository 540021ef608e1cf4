/**
 * How far a copy is, table by table, on stderr (`backup`, `restore`, `migrate-store`). Kept
 * apart from the copy itself so that registering those commands loads no database driver.
 */
import { info } from '../output.js';

export type Progress = (table: string, rows: number) => void;

export function progressOnStderr(quiet: boolean): Progress {
  const started = Date.now();
  return (table, rows) => {
    if (quiet) return;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    info(`  ${table.padEnd(16)} ${String(rows).padStart(9)} rows  (${seconds} s)`);
  };
}
