import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
  /** Dashed, so that a series drawn over another with the same values lets it show through. */
  dashed?: boolean;
}

const HEIGHT = 240;
// Whole steps only (1, 2, 5, 10, 20, … 5×10⁹): the x axis counts runs, the y axis records.
const STEPS = Array.from({ length: 10 }, (_, power) => [1, 2, 5].map((step) => step * 10 ** power)).flat();

/**
 * A chart of one point per run, oldest on the left, each named by `names` (its day) on the x
 * axis. Runs are evenly spaced rather than placed in time: two imports a second apart, or a
 * day of realtime slots, stay readable. The chart follows its container's width.
 */
export function Chart({ title, names, series }: { title: string; names: string[]; series: Series[] }) {
  const box = useRef<HTMLDivElement>(null);
  const dark = useDarkScheme();
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    // uPlot draws its axes in black unless told: take the page's own colours (light or dark).
    const page = getComputedStyle(document.documentElement);
    const colour = (name: string) => page.getPropertyValue(name).trim();
    const axis = { stroke: colour('--muted'), grid: { stroke: colour('--line') }, ticks: { stroke: colour('--line') } };
    const plot = new uPlot(
      {
        title,
        width: element.clientWidth,
        height: HEIGHT,
        // Fixed, not fitted to the data: uPlot widens a range of one run into fractions of a run.
        scales: { x: { time: false, auto: false, range: [-0.5, names.length - 0.5] } },
        series: [
          { label: 'run', value: (_u, i: number | null) => (i === null ? '' : (names[i] ?? '')) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            dash: s.dashed ? [8, 8] : undefined,
            spanGaps: true,
            points: { show: true, size: 6 },
          })),
        ],
        axes: [
          { ...axis, incrs: STEPS, values: (_u, splits) => splits.map((i) => names[i] ?? '') },
          { ...axis, incrs: STEPS, size: 70 },
        ],
      },
      [names.map((_, i) => i), ...series.map((s) => s.values)],
      element,
    );
    const resized = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height: HEIGHT }));
    resized.observe(element);
    return () => {
      resized.disconnect();
      plot.destroy();
    };
  }, [title, names, series, dark]);
  return <div class="chart" ref={box} role="img" aria-label={title} />;
}

/** Whether the page is in its dark colours; changes when the system's scheme does. */
function useDarkScheme(): boolean {
  const [query] = useState(() => matchMedia('(prefers-color-scheme: dark)'));
  const [dark, setDark] = useState(query.matches);
  useEffect(() => {
    const changed = () => setDark(query.matches);
    query.addEventListener('change', changed);
    return () => query.removeEventListener('change', changed);
  }, [query]);
  return dark;
}
