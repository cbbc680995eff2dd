/** One line of text per notable run event, shared by the TTY view and the plain CI log. */
import type { ChalkInstance } from 'chalk';
import type { RunEvent } from '../events.ts';
import { formatClock, formatCount, formatMs } from '../invariants.ts';
import { visible } from '../visible.ts';

/** Findings printed per kind before the log says "more in the report". */
export const FINDINGS_PRINTED_PER_KIND = 3;

export function describeEvent(
  ev: RunEvent,
  c: ChalkInstance,
  seen: Map<string, number> = new Map(),
): string | undefined {
  switch (ev.type) {
    case 'run-started':
      return `${c.bold(ev.scenario)}: run ${ev.runId}, seed ${ev.seed}, workload ${formatClock(ev.workloadMs)}${ev.runtime ? `, ${ev.runtime} runtime` : ''}`;
    case 'phase-changed':
      return `${c.cyan('phase')} ${c.bold(ev.phase)}${ev.detail ? ` ${c.dim(ev.detail)}` : ''}`;
    case 'fault-applied':
      return ev.error
        ? `${c.red('fault failed')} ${ev.fault.id} ${ev.fault.kind} ${ev.fault.target}: ${ev.error}`
        : `${c.yellow('fault on ')} ${ev.fault.id} ${c.bold(ev.fault.kind)} ${ev.fault.target} for ${formatMs(ev.fault.plannedFor)}`;
    case 'fault-healed':
      return ev.error
        ? `${c.red('heal failed')} ${ev.faultId}: ${ev.error}`
        : `${c.green('fault off')} ${ev.faultId}`;
    case 'tamper-probed': {
      const p = ev.probe;
      const outcome =
        p.outcome === 'accepted'
          ? c.red(p.outcome)
          : p.outcome === 'error'
            ? c.yellow(p.outcome)
            : c.green(p.outcome);
      return `${c.magenta('tamper')} ${p.name} (${p.via}): ${outcome}${p.detail ? ` ${c.dim(p.detail)}` : ''}`;
    }
    case 'finding': {
      const f = ev.finding;
      const n = (seen.get(f.kind) ?? 0) + 1;
      seen.set(f.kind, n);
      if (n > FINDINGS_PRINTED_PER_KIND + 1) return undefined;
      if (n === FINDINGS_PRINTED_PER_KIND + 1) return c.dim(`  further ${f.kind} findings are in the report`);
      const color = f.severity === 'violation' ? c.red : f.severity === 'warning' ? c.yellow : c.dim;
      const where = [f.eventId && `event ${visible(f.eventId)}`, f.seq !== undefined && `seq ${f.seq}`]
        .filter(Boolean)
        .join(', ');
      return `${color(`finding ${f.kind}`)} ${visible(f.message)}${where ? c.dim(` [${where}]`) : ''}`;
    }
    case 'log':
      return ev.level === 'warn' ? c.yellow(`warning: ${visible(ev.message)}`) : visible(ev.message);
    case 'interrupted':
      return c.yellow(`interrupted by ${ev.signal}: stopping, cleaning up, writing a partial report`);
    case 'stats':
      return `${c.dim('progress')} ${formatClock(ev.t * 1000 + 1000)} writes ${ev.ok}/s errors ${ev.errors}/s indeterminate ${ev.indeterminate}/s p50 ${formatMs(ev.p50)} p99 ${formatMs(ev.p99)}; total ok ${formatCount(ev.totals.ok)} fail ${formatCount(ev.totals.fail)} indeterminate ${formatCount(ev.totals.indeterminate)}`;
    case 'scan-progress':
      return `${c.dim('scan')} ${formatCount(ev.entries)}${ev.total ? `/${formatCount(ev.total)}` : ''} entries`;
    case 'run-finished':
      return undefined;
  }
}
