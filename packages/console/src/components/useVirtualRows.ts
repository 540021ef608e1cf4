import { useEffect, useLayoutEffect, useState, type MutableRef } from 'preact/hooks';

/** Rows drawn above and below the visible ones, so a quick scroll shows no gap. */
const OVERSCAN = 8;

export interface VirtualWindow {
  /** Index of the first row to draw. */
  start: number;
  /** One past the last row to draw. */
  end: number;
  rowHeight: number;
}

/**
 * Which rows of a long list are visible in a scrolling container: only those are drawn, so
 * 10,000 secrets cost the DOM as much as 30. Rows have one fixed height per layout (taller
 * on a phone, where a row wraps onto two lines).
 */
export function useVirtualRows(
  container: MutableRef<HTMLElement | null>,
  count: number,
  heights: { wide: number; narrow: number },
): VirtualWindow {
  const narrowQuery = '(max-width: 720px)';
  const [narrow, setNarrow] = useState(() => window.matchMedia(narrowQuery).matches);
  const [view, setView] = useState({ top: 0, height: 600 });
  const rowHeight = narrow ? heights.narrow : heights.wide;

  useEffect(() => {
    const query = window.matchMedia(narrowQuery);
    const change = () => setNarrow(query.matches);
    query.addEventListener('change', change);
    return () => query.removeEventListener('change', change);
  }, []);

  useLayoutEffect(() => {
    const element = container.current;
    if (!element) return;
    let frame = 0;
    const measure = () => {
      frame = 0;
      setView({ top: element.scrollTop, height: element.clientHeight });
    };
    const schedule = () => {
      if (frame === 0) frame = requestAnimationFrame(measure);
    };
    measure();
    element.addEventListener('scroll', schedule, { passive: true });
    const observer = new ResizeObserver(schedule);
    observer.observe(element);
    return () => {
      element.removeEventListener('scroll', schedule);
      observer.disconnect();
      if (frame !== 0) cancelAnimationFrame(frame);
    };
  }, [container.current]);

  const start = Math.max(0, Math.floor(view.top / rowHeight) - OVERSCAN);
  const end = Math.min(count, Math.ceil((view.top + view.height) / rowHeight) + OVERSCAN);
  return { start, end, rowHeight };
}
