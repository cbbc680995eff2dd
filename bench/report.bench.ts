/**
 * Report rendering and redaction costs. Absolute times are noisy on a shared machine; the ratios
 * in the same run are what count: each format against report.json, a 1-hour run with 10,000
 * findings against the 60 s fixture, and redacting history lines against serialising them.
 */
import { Chalk } from 'chalk';
import { renderHtml } from '../src/report/html.ts';
import { renderJson } from '../src/report/json.ts';
import { renderJunit } from '../src/report/junit.ts';
import { renderMarkdown } from '../src/report/markdown.ts';
import type { Report } from '../src/report/model.ts';
import { createRedactor } from '../src/report/redact.ts';
import { createPlainLog } from '../src/report/terminal/plain-log.ts';
import { createTtyView } from '../src/report/terminal/tty-view.ts';
import { fixtureReport } from '../test/helpers/report-fixture.ts';

function time(fn: () => unknown, minMs = 400): number {
  fn(); // warm
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    fn();
    n++;
  }
  return (performance.now() - t0) / n;
}

function bigReport(): Report {
  const r = fixtureReport();
  const series = Array.from({ length: 3600 }, (_, t) => ({
    ...(r.series[t % 60] as Report['series'][number]),
    t,
  }));
  const base = r.findings[0] as Report['findings'][number];
  const findings = Array.from({ length: 10_000 }, (_, i) => ({ ...base, eventId: `evt-${i}`, seq: i }));
  return { ...r, series, findings };
}

const small = fixtureReport();
const big = bigReport();
const rows: [string, number, number, number][] = [];
for (const [name, render] of [
  ['json', renderJson],
  ['md', renderMarkdown],
  ['html', renderHtml],
  ['junit', renderJunit],
] as const) {
  const s = time(() => render(small));
  const b = time(() => render(big), 800);
  rows.push([name, s, b, render(big).length]);
}
const jsonSmall = rows[0]?.[1] ?? 1;
console.log('format   60 s fixture   1 h + 10k findings   big/small   vs json (fixture)   big output');
for (const [name, s, b, bytes] of rows) {
  console.log(
    `${name.padEnd(8)} ${s.toFixed(2).padStart(9)} ms ${b.toFixed(2).padStart(16)} ms ${(b / s).toFixed(1).padStart(10)}x ${(s / jsonSmall).toFixed(1).padStart(17)}x ${(bytes / 1024).toFixed(0).padStart(9)} KiB`,
  );
}

// history.ndjson lines through the redactor, against serialising them
const ops = Array.from({ length: 20_000 }, (_, i) =>
  JSON.stringify({
    eventId: `0193a1b2-${i}-7000-8000-000000000000`,
    outcome: i % 17 ? 'ok' : 'indeterminate',
    payloadDigest: 'ab'.repeat(32),
    invokedAt: i * 2.5,
    completedAt: i * 2.5 + 3.1,
    status: 201,
    attempts: 1,
    writer: i % 8,
    seq: i,
  }),
);
const redact = createRedactor(['zq-env-secret-4417']);
const tStringify = time(() => ops.map((o) => JSON.stringify(JSON.parse(o))));
const tRedact = time(() => ops.map(redact));
const mb = ops.reduce((s, o) => s + o.length, 0) / 2 ** 20;
console.log(
  `\nredact history lines: ${(mb / (tRedact / 1000)).toFixed(0)} MiB/s (${((tRedact / ops.length) * 1000).toFixed(2)} µs/line); ` +
    `redact / (parse+stringify) = ${(tRedact / tStringify).toFixed(2)}`,
);

// terminal sinks: cost of one per-second stats event (the live view also redraws on it)
const sinkStream = { write: (_: string) => true, isTTY: true, columns: 120 };
const stats = {
  type: 'stats' as const,
  at: 5000,
  t: 4,
  ok: 398,
  errors: 2,
  indeterminate: 1,
  p50: 3.1,
  p99: 40,
  totals: { attempted: 2000, ok: 1990, fail: 8, indeterminate: 2 },
};
const tty = createTtyView({ stream: sinkStream, color: new Chalk({ level: 1 }), refreshMs: 3_600_000 });
tty.handle({ type: 'run-started', at: 0, runId: 'r', scenario: 's', seed: 1, workloadMs: 60_000 });
tty.handle({ type: 'phase-changed', at: 0, phase: 'workload' });
const plain = createPlainLog({ stream: sinkStream, statsEverySeconds: 1 });
const tTty = time(() => tty.handle(stats));
const tPlain = time(() => plain.handle(stats));
tty.close();
console.log(
  `stats event: tty view ${(tTty * 1000).toFixed(1)} µs, plain log ${(tPlain * 1000).toFixed(1)} µs (tty/plain ${(tTty / tPlain).toFixed(1)}x)`,
);
