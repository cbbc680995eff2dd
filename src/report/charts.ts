/**
 * The timeline charts of report.html, drawn server-side by Apache ECharts' SSR SVG renderer (no
 * DOM, no canvas): writes/s and errors/s, then p50/p99 latency, with each fault as a labelled
 * band. The SVG is inlined in the page; nothing is fetched.
 */
import { createRequire } from 'node:module';
import type * as Echarts from 'echarts';
import type { FaultRecord, Report } from './model.ts';

const FAULT_COLORS = ['#d9480f', '#7048e8', '#1971c2', '#c2255c', '#2f9e44', '#e67700'];

export interface ChartOptions {
  width?: number;
  height?: number;
}

export function faultBands(faults: FaultRecord[], endS: number) {
  const kinds = [...new Set(faults.map((f) => f.kind))];
  return faults
    .filter((f) => f.startedAt !== undefined)
    .map((f) => {
      const color = FAULT_COLORS[kinds.indexOf(f.kind) % FAULT_COLORS.length] as string;
      return [
        {
          name: `${f.kind} ${f.target}`,
          xAxis: (f.startedAt as number) / 1000,
          itemStyle: { color, opacity: 0.12 },
          label: { color, fontSize: 11, position: 'insideTop' as const },
        },
        { xAxis: f.endedAt === undefined ? endS : f.endedAt / 1000 },
      ];
    });
}

// Loaded on first use, synchronously: ECharts takes about a second to load, which every CLI
// command would otherwise pay at startup whether it draws a chart or not.
let echarts: typeof Echarts | undefined;
function loadEcharts(): typeof Echarts {
  echarts ??= createRequire(import.meta.url)('echarts') as typeof Echarts;
  return echarts;
}

export function render(option: Echarts.EChartsCoreOption, opts: ChartOptions): string {
  const chart = loadEcharts().init(null, null, {
    renderer: 'svg',
    ssr: true,
    width: opts.width ?? 960,
    height: opts.height ?? 280,
  });
  try {
    chart.setOption(option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

export function baseOption(report: Report, yName: string, narrow: boolean) {
  // the x axis is the workload's seconds (series t), not the whole run with stack-up and scan
  const lastT = report.series.reduce((m, p) => Math.max(m, p.t + 1), 0);
  const lastFault = report.faults.reduce(
    (m, f) => Math.max(m, Math.ceil((f.endedAt ?? f.startedAt ?? 0) / 1000)),
    0,
  );
  const endS = Math.max(1, lastT, lastFault);
  return {
    endS,
    option: {
      animation: false,
      textStyle: { fontFamily: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif' },
      grid: { left: narrow ? 44 : 56, right: narrow ? 12 : 20, top: narrow ? 64 : 44, bottom: 40 },
      legend: { top: 4, right: 10, itemWidth: 14, itemHeight: 8, textStyle: { fontSize: narrow ? 11 : 12 } },
      xAxis: {
        type: 'value',
        min: 0,
        max: endS,
        name: 's',
        nameLocation: 'end',
        nameGap: 6,
        splitLine: { show: false },
      },
      yAxis: { type: 'value', name: yName, nameGap: 12, min: 0 },
    },
  };
}

/**
 * Findings about writes on the time axis, at the writer's answer (a missing entry at its ack
 * time), one scatter series per violated kind, drawn along the bottom of the chart over the
 * fault bands.
 */
function findingMarks(report: Report) {
  const kinds = new Map<string, number[]>();
  for (const f of report.findings) {
    if (f.severity !== 'violation' || f.preexisting || !f.story) continue;
    const at = kinds.get(f.kind) ?? [];
    at.push(f.story.writer.answeredAt / 1000);
    kinds.set(f.kind, at);
  }
  const colors = ['#c92a2a', '#5f3dc4', '#0b7285', '#a61e4d'];
  return [...kinds].map(([kind, ts], i) => ({
    name: kind,
    type: 'scatter',
    symbol: 'triangle',
    symbolSize: 7,
    itemStyle: { color: colors[i % colors.length] },
    data: ts.map((t) => [t, 0]),
  }));
}

/** Writes acknowledged, failed and indeterminate per second, fault windows as bands, findings marked. */
export function throughputChartSvg(report: Report, opts: ChartOptions = {}): string {
  const { endS, option } = baseOption(report, 'writes/s', (opts.width ?? 960) < 600);
  const line = (name: string, color: string, pick: (p: Report['series'][number]) => number) => ({
    name,
    type: 'line',
    showSymbol: false,
    lineStyle: { width: 1.6, color },
    itemStyle: { color },
    data: report.series.map((p) => [p.t, pick(p)]),
  });
  return render(
    {
      ...option,
      series: [
        {
          ...line('acknowledged/s', '#2b8a3e', (p) => p.ok),
          areaStyle: { color: '#2b8a3e', opacity: 0.08 },
          markArea: { silent: true, data: faultBands(report.faults, endS) },
        },
        line('errors/s', '#e03131', (p) => p.errors),
        line('indeterminate/s', '#f08c00', (p) => p.indeterminate),
        ...findingMarks(report),
      ],
    },
    opts,
  );
}

/** p50 and p99 write latency per second, fault windows as bands. */
export function latencyChartSvg(report: Report, opts: ChartOptions = {}): string {
  const { endS, option } = baseOption(report, 'latency ms', (opts.width ?? 960) < 600);
  return render(
    {
      ...option,
      series: [
        {
          name: 'p50',
          type: 'line',
          showSymbol: false,
          connectNulls: false,
          lineStyle: { width: 1.6, color: '#1971c2' },
          itemStyle: { color: '#1971c2' },
          data: report.series.map((p) => [p.t, p.p50]),
          markArea: { silent: true, data: faultBands(report.faults, endS) },
        },
        {
          name: 'p99',
          type: 'line',
          showSymbol: false,
          connectNulls: false,
          lineStyle: { width: 1.6, color: '#862e9c' },
          itemStyle: { color: '#862e9c' },
          data: report.series.map((p) => [p.t, p.p99]),
        },
      ],
    },
    opts,
  );
}

/**
 * Makes an SVG string fit to be inlined in HTML: fluid width, no XML namespace URLs (the HTML
 * parser puts inline <svg> in the SVG namespace by itself), and class names made unique per
 * chart so that two charts' <style> blocks cannot restyle each other.
 */
export function inlineSvg(svg: string, label: string, uid: string): string {
  // zrender numbers instances, classes and clip-path ids with process-wide counters: renumber per chart so that
  // the same report always renders to the same bytes
  const classes = new Map<string, string>();
  return svg
    .replace(/\bzr\d+-[A-Za-z]+-?\d+\b/g, (c) => {
      let name = classes.get(c);
      if (name === undefined) {
        name = `${uid}-c${classes.size}`;
        classes.set(c, name);
      }
      return name;
    })
    .replace(/\s+xmlns(:xlink)?="[^"]*"/g, '')
    .replace(/\s+(?:version|baseProfile)="[^"]*"/g, '')
    .replace(/^<svg width="(\d+)" height="(\d+)"/, `<svg role="img" aria-label="${label}" class="chart"`);
}
