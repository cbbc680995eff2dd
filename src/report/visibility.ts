/**
 * The visibility section of the report (workload.visibility): lag over time with the fault bands,
 * its distribution, and the table md and html share. Derived from a Report only.
 */
import { baseOption, type ChartOptions, faultBands, render } from './charts.ts';
import { formatCount, formatMs } from './invariants.ts';
import type { Report } from './model.ts';

type Visibility = NonNullable<Report['visibility']>;

export const VISIBILITY_COLUMNS = ['', 'p50', 'p90', 'p99', 'max'];

/** Two rows: the lag as read (first read that found it) and the proven lag (last read that missed it). */
export function visibilityRows(v: Visibility): string[][] {
  const row = (label: string, p: Visibility['lag']) => [
    label,
    formatMs(p.p50),
    formatMs(p.p90),
    formatMs(p.p99),
    formatMs(p.max),
  ];
  return [row('lag as read', v.lag), row('proven lag (judged)', v.proven)];
}

/** One sentence: what was followed, how, and what became of it. */
export function visibilitySentence(v: Visibility): string {
  const f = v.fates;
  const parts = [`${formatCount(f.seen)} found by the reader`];
  if (f['seen-at-scan']) parts.push(`${formatCount(f['seen-at-scan'])} only by the final scan`);
  if (f.missing) parts.push(`${formatCount(f.missing)} missing from the log`);
  if (f.unproven) parts.push(`${formatCount(f.unproven)} never read as absent (no proof either way)`);
  if (f.unresolved) parts.push(`${formatCount(f.unresolved)} unresolved (the scan could not tell)`);
  const via = v.via === 'api' ? "the service's read API" : 'the log source';
  return (
    `Followed ${formatCount(v.followed)} of ${formatCount(v.offered)} acknowledged events ` +
    `(${Math.round(v.sample * 1000) / 10}% sampled, plus the last ack) on ${via}, every ${formatMs(v.pollMs)}: ` +
    `${parts.join(', ')}; ${formatCount(v.readErrors)} failed reads; limit ${formatMs(v.limitMs)}` +
    (v.notChecked ? `; not checked: ${v.notChecked}` : '')
  );
}

function histogramLabels(v: Visibility): string[] {
  let prev = 0;
  return v.histogram.map((b) => {
    const label = b.le === null ? `> ${formatMs(prev)}` : `<= ${formatMs(b.le)}`;
    if (b.le !== null) prev = b.le;
    return label;
  });
}

/** Histogram as text rows (md): bucket, count. */
export function histogramRows(v: Visibility): string[][] {
  const labels = histogramLabels(v);
  return v.histogram.map((b, i) => [labels[i] as string, formatCount(b.count)]);
}

/** Lag per followed event at its ack time, fault windows as bands, the limit as a line. */
export function visibilityLagChartSvg(report: Report, opts: ChartOptions = {}): string {
  const v = report.visibility;
  if (!v) return '';
  const { endS, option } = baseOption(report, 'lag ms', (opts.width ?? 960) < 600);
  const endAll = Math.max(endS, ...v.points.map((p) => Math.ceil(p.t / 1000)));
  const point = (
    pick: (p: Visibility['points'][number]) => number | undefined,
    keep: (p: Visibility['points'][number]) => boolean,
  ) =>
    v.points.filter(keep).flatMap((p) => {
      const y = pick(p);
      return y === undefined ? [] : [[p.t / 1000, y]];
    });
  return render(
    {
      ...option,
      xAxis: { ...option.xAxis, max: endAll },
      series: [
        {
          name: 'lag as read',
          type: 'scatter',
          symbolSize: 4,
          itemStyle: { color: '#1971c2' },
          data: point(
            (p) => p.lagMs,
            (p) => !p.delayed,
          ),
          markArea: { silent: true, data: faultBands(report.faults, endAll) },
          markLine: {
            silent: true,
            symbol: 'none',
            lineStyle: { color: '#c92a2a', type: 'dashed' },
            label: { formatter: `limit ${formatMs(v.limitMs)}`, fontSize: 11, position: 'insideEndTop' },
            data: [{ yAxis: v.limitMs }],
          },
        },
        {
          name: 'delayed (proven lag)',
          type: 'scatter',
          symbol: 'triangle',
          symbolSize: 6,
          itemStyle: { color: '#c92a2a' },
          data: point(
            (p) => p.provenMs,
            (p) => p.delayed === true,
          ),
        },
      ],
    },
    opts,
  );
}

/** The distribution of the lag as read, by bucket. */
export function visibilityHistogramSvg(report: Report, opts: ChartOptions = {}): string {
  const v = report.visibility;
  if (!v) return '';
  const narrow = (opts.width ?? 960) < 600;
  return render(
    {
      animation: false,
      textStyle: { fontFamily: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif' },
      grid: { left: narrow ? 44 : 56, right: 20, top: 30, bottom: 40 },
      xAxis: { type: 'category', data: histogramLabels(v), axisLabel: { fontSize: 10 } },
      yAxis: { type: 'value', name: 'events', min: 0 },
      series: [
        {
          name: 'followed events',
          type: 'bar',
          itemStyle: { color: '#1971c2' },
          data: v.histogram.map((b) => b.count),
        },
      ],
    },
    { height: 220, ...opts },
  );
}
