// A small time-series chart (uPlot). The chart is created once and fed new data; its box has a
// fixed height so refreshes never shift the layout. The latest values are also given as text
// (the figure's caption) for screen readers and for reading exact numbers.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';

export interface SeriesSpec {
  label: string;
  color: string;
}

const HEIGHT = 150;
/** The window shown, in seconds: a steady time axis however many samples there are yet. */
const WINDOW_S = 90;

/** uPlot draws null as a gap; NaN (no value yet, e.g. the first rate) would break its scales. */
const gaps = (data: number[][]): uPlot.AlignedData => data.map((ys, i) => (i === 0 ? ys : ys.map((v) => (Number.isFinite(v) ? v : null)))) as uPlot.AlignedData;

const clock = (u: uPlot, splits: number[]): string[] => splits.map((s) => new Date(s * 1000).toLocaleTimeString(undefined, { hour12: false }));

export function Chart({ title, series, data, unit, digits = 0 }: { title: string; series: SeriesSpec[]; data: number[][]; unit: string; digits?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    const el = box.current!;
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true, range: (_u, _min, max) => [max - WINDOW_S, max] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
        axes: [
          { stroke: '#4b5563', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#e5e7eb' }, values: clock, space: 70 },
          { stroke: '#4b5563', grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#e5e7eb' }, size: 50 },
        ],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: true, size: 4 }, spanGaps: false }))],
      },
      gaps(data),
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(gaps(data));
  }, [data]);
  const last = series.map((s, i) => {
    const ys = data[i + 1] ?? [];
    const v = ys[ys.length - 1];
    return `${s.label} ${v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits)}${unit}`;
  });
  return (
    <figure class="chart" aria-label={`${title}: ${last.join(', ')}`}>
      <figcaption>
        <span class="chart-title">{title}</span>
        <span class="chart-values">
          {series.map((s, i) => (
            <span class="chart-value" data-series={s.label}>
              <span class="swatch" style={{ background: s.color }} aria-hidden="true" />
              {last[i]}
            </span>
          ))}
        </span>
      </figcaption>
      <div class="chart-box" ref={box} style={{ height: `${HEIGHT}px` }} />
    </figure>
  );
}
