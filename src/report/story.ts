/**
 * The postmortem story of a run: each finding tied to what its writer was told and to the faults
 * around it (active at send, at the answer, and the nearest one before or after, with the gap),
 * findings grouped by the fault they sit nearest to, repetitive ones summarised, and one sentence
 * per failed invariant that a person can read aloud. Pure: findings, ops and the fault log in.
 */
import type { FaultRecord } from '../chaos/fault-log.ts';
import type { LedgerOp } from '../scan/types.ts';

/** What the writer saw of the op a finding is about. */
export interface WriterView {
  sentAt: number;
  answeredAt: number;
  outcome: LedgerOp['outcome'];
  status?: number;
  error?: string;
  attempts: number;
}

export interface NearestFault {
  id: string;
  /** "f1 db-down kill" */
  label: string;
  /** The answer came while the fault was active, before it started, or after it healed. */
  relation: 'during' | 'before' | 'after';
  /** ms between the answer and the fault's start (before) or end (after); 0 during. */
  gapMs: number;
}

export interface FindingStory {
  writer: WriterView;
  activeAtSend: string[];
  activeAtAnswer: string[];
  nearest?: NearestFault;
  /** "acked at 5.83 s, 37 ms before f1 db-down kill (started 6.04 s)" */
  text: string;
}

export function faultLabel(f: FaultRecord): string {
  const mode = typeof f.params.mode === 'string' ? ` ${f.params.mode}` : '';
  return `${f.id} ${f.kind}${mode}${f.target && !mode.includes(f.target) ? ` (${f.target})` : ''}`;
}

const started = (f: FaultRecord): f is FaultRecord & { startedAt: number } => f.startedAt !== undefined;
const endOf = (f: FaultRecord & { startedAt: number }) => f.endedAt ?? Number.POSITIVE_INFINITY;

function activeAt(faults: readonly FaultRecord[], t: number): string[] {
  return faults.filter((f) => started(f) && f.startedAt <= t && endOf(f) >= t).map(faultLabel);
}

/** The fault closest in time to `t`: one active at t wins; else the smallest gap to a start or an end. */
export function nearestFault(faults: readonly FaultRecord[], t: number): NearestFault | undefined {
  let best: NearestFault | undefined;
  for (const f of faults) {
    if (!started(f)) continue;
    let cand: NearestFault;
    if (f.startedAt <= t && endOf(f) >= t)
      cand = { id: f.id, label: faultLabel(f), relation: 'during', gapMs: 0 };
    else if (t < f.startedAt)
      cand = { id: f.id, label: faultLabel(f), relation: 'before', gapMs: f.startedAt - t };
    else cand = { id: f.id, label: faultLabel(f), relation: 'after', gapMs: t - endOf(f) };
    if (!best || cand.gapMs < best.gapMs) best = cand;
  }
  return best;
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const gap = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : seconds(ms));

function told(op: LedgerOp): string {
  if (op.outcome === 'ok') return 'acked';
  if (op.status !== undefined) return `told HTTP ${op.status}`;
  if (op.error) return `told "${op.error.length > 60 ? `${op.error.slice(0, 57)}...` : op.error}"`;
  return op.outcome === 'fail' ? 'told it failed' : 'got no answer';
}

export function storyOf(op: LedgerOp, faults: readonly FaultRecord[]): FindingStory {
  const writer: WriterView = {
    sentAt: op.invokedAt,
    answeredAt: op.completedAt,
    outcome: op.outcome,
    ...(op.status !== undefined ? { status: op.status } : {}),
    ...(op.error ? { error: op.error } : {}),
    attempts: op.attempts,
  };
  const nearest = nearestFault(faults, op.completedAt);
  const retries = op.attempts > 1 ? ` after ${op.attempts} attempts` : '';
  let text = `sent at ${seconds(op.invokedAt)}, ${told(op)} at ${seconds(op.completedAt)}${retries}`;
  if (nearest) {
    text +=
      nearest.relation === 'during'
        ? `, during ${nearest.label}`
        : `, ${gap(nearest.gapMs)} ${nearest.relation} ${nearest.label}`;
  } else text += faults.length ? ', while no fault had started' : ', in a run without faults';
  return {
    writer,
    activeAtSend: activeAt(faults, op.invokedAt),
    activeAtAnswer: activeAt(faults, op.completedAt),
    ...(nearest ? { nearest } : {}),
    text,
  };
}

/** The minimal finding shape the grouping needs (scan findings and report findings both fit). */
export interface StoryFinding {
  kind: string;
  severity: string;
  eventId?: string;
  preexisting?: boolean;
  story?: FindingStory;
}

export interface FindingGroup<F extends StoryFinding> {
  /** The fault id, or undefined for findings near no fault (or with no writer). */
  faultId?: string;
  title: string;
  findings: F[];
  /** Repetitive findings of the group, one line per (kind, what the writer was told). */
  summaries: { kind: string; count: number; text: string }[];
}

/** Findings grouped by the fault they sit nearest to, in fault order; those near none last. */
export function groupByFault<F extends StoryFinding>(
  findings: readonly F[],
  faults: readonly FaultRecord[],
): FindingGroup<F>[] {
  const groups = new Map<string | undefined, F[]>();
  for (const f of findings) {
    const id = f.story?.nearest?.id;
    const g = groups.get(id) ?? [];
    g.push(f);
    groups.set(id, g);
  }
  const out: FindingGroup<F>[] = [];
  for (const fault of faults) {
    const fs = groups.get(fault.id);
    if (!fs) continue;
    const when =
      fault.startedAt !== undefined
        ? `, ${seconds(fault.startedAt)} to ${fault.endedAt !== undefined ? seconds(fault.endedAt) : 'not healed'}`
        : '';
    out.push({
      faultId: fault.id,
      title: `near ${faultLabel(fault)}${when}`,
      findings: fs,
      summaries: summarise(fs, fault),
    });
  }
  const rest = groups.get(undefined);
  if (rest)
    out.push({
      title: faults.length ? 'near no fault' : 'findings',
      findings: rest,
      summaries: summarise(rest),
    });
  return out;
}

function summarise(
  fs: readonly StoryFinding[],
  fault?: FaultRecord,
): FindingGroup<StoryFinding>['summaries'] {
  const by = new Map<
    string,
    { kind: string; count: number; told: string; stored: number; absent: number; rel: Set<string> }
  >();
  for (const f of fs) {
    const w = f.story?.writer;
    const toldWhat = w
      ? w.outcome === 'ok'
        ? 'acknowledged'
        : w.status !== undefined
          ? `got HTTP ${w.status}`
          : w.error
            ? 'got no answer'
            : w.outcome
      : 'no writer';
    const key = `${f.kind}\u0000${toldWhat}`;
    const s = by.get(key) ?? {
      kind: f.kind,
      count: 0,
      told: toldWhat,
      stored: 0,
      absent: 0,
      rel: new Set<string>(),
    };
    s.count++;
    if (f.story?.nearest) s.rel.add(f.story.nearest.relation);
    const recovered = (f as { detail?: Record<string, unknown> }).detail?.recovered;
    if (recovered === true) s.stored++;
    else if (recovered === false) s.absent++;
    by.set(key, s);
  }
  return [...by.values()]
    .filter((s) => s.count > 1)
    .map((s) => {
      const where = fault
        ? ` ${[...s.rel].map((r) => (r === 'during' ? 'during' : r)).join('/')} ${fault.id}`
        : '';
      const fate =
        s.kind === 'indeterminate'
          ? s.absent === s.count
            ? ', none stored'
            : s.stored === s.count
              ? ', all stored'
              : `, ${s.stored} stored, ${s.absent} not`
          : '';
      const noun = s.kind === 'missing' ? 'acknowledged writes lost' : `writes ${s.told} (${s.kind})`;
      return { kind: s.kind, count: s.count, text: `${s.count} ${noun}${where}${fate}` };
    });
}

const KIND_SENTENCE: Record<string, (n: number) => string> = {
  missing: (n) => `${n} acknowledged ${n === 1 ? 'event was' : 'events were'} lost`,
  partial: (n) => `${n} stored ${n === 1 ? 'entry is' : 'entries are'} incomplete`,
  duplicate: (n) => `${n} ${n === 1 ? 'event is' : 'events are'} stored more than once`,
  'broken-chain': (n) => `the hash chain is broken at ${n} ${n === 1 ? 'place' : 'places'}`,
  unexpected: (n) =>
    `${n} ${n === 1 ? 'entry' : 'entries'} in the log ${n === 1 ? 'was' : 'were'} never acknowledged as written`,
  rollback: (n) => `the log rolled back ${n} ${n === 1 ? 'time' : 'times'} behind a published checkpoint`,
  'tamper-undetected': (n) => `${n} tampering ${n === 1 ? 'change went' : 'changes went'} unnoticed`,
  delayed: (n) =>
    `${n} acknowledged ${n === 1 ? 'event was' : 'events were'} readable only later than expect.visibility.max`,
};

/**
 * One sentence per violated finding kind, readable aloud: "50 acknowledged events were lost, all
 * within 200 ms before f1 db-down kill". `counts` are exact (the findings list may be cut).
 */
export function headlineSentences(
  findings: readonly StoryFinding[],
  counts: Readonly<Record<string, number>>,
): string[] {
  const out: string[] = [];
  for (const [kind, sentence] of Object.entries(KIND_SENTENCE)) {
    const n = counts[kind] ?? 0;
    if (n === 0) continue;
    let s = sentence(n);
    const fs = findings.filter((f) => f.kind === kind && !f.preexisting && f.story);
    const near = fs.map((f) => f.story?.nearest).filter((x): x is NearestFault => x !== undefined);
    if (fs.length > 0 && near.length === fs.length) {
      const labels = new Set(near.map((x) => x.label));
      const rels = new Set(near.map((x) => x.relation));
      const maxGap = Math.max(...near.map((x) => x.gapMs));
      const all = fs.length === n ? (n === 1 ? '' : 'all ') : `the ${fs.length} shown `;
      const where = labels.size <= 3 ? [...labels].join(' or ') : `${labels.size} faults`;
      if (rels.size === 1 && rels.has('during')) s += `, ${all}while ${where} was active`;
      else if (rels.size === 1) s += `, ${all}within ${gap(Math.max(maxGap, 1))} ${[...rels][0]} ${where}`;
      else s += `, ${all}within ${gap(Math.max(maxGap, 1))} of ${where}`;
    }
    out.push(`${s.charAt(0).toUpperCase()}${s.slice(1)}.`);
  }
  return out;
}
