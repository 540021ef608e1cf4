import { useCallback, useEffect, useState } from 'preact/hooks';
import { messageOf } from '../lib/errors.js';

export type Loaded<T> =
  { state: 'loading' } | { state: 'error'; message: string; error: unknown } | { state: 'ready'; data: T };

/** Runs `load` when `deps` change; `reload()` runs it again. A stale answer never wins. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [Loaded<T>, () => void] {
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (data) => current && setResult({ state: 'ready', data }),
      (error: unknown) => current && setResult({ state: 'error', message: messageOf(error), error }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return [result, reload];
}
