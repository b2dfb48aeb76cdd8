import { useEffect, useRef } from 'preact/hooks';
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
// Whole steps only: the x axis counts runs.
const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/**
 * A chart of one point per run, oldest on the left, each named by `names` (its day) on the x
 * axis. Runs are evenly spaced rather than placed in time: two imports a second apart, or a
 * day of realtime slots, stay readable. The chart follows its container's width.
 */
export function Chart({ title, names, series }: { title: string; names: string[]; series: Series[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const plot = new uPlot(
      {
        title,
        width: element.clientWidth,
        height: HEIGHT,
        scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } },
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
        axes: [{ incrs: STEPS, values: (_u, splits) => splits.map((i) => names[i] ?? '') }, { size: 70 }],
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
  }, [title, names, series]);
  return <div class="chart" ref={box} role="img" aria-label={title} />;
}
