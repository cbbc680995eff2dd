/**
 * The scan phase of a run: open the scenario's log source, scan it against the writers' ledger and
 * the observed checkpoints, keep a sample of what was read, and plant canaries in that sample to
 * prove the checks would have caught each defect.
 */
import path from 'node:path';
import { isAuditChaosError, isProgrammingError } from '../errors.ts';
import { seededRandom, streamOf, uniform } from '../random.ts';
import { createLogWriter, type LogWriter } from '../report/evidence-files.ts';
import { clockCheckSettings } from '../scan/checks/clock.ts';
import { openSource } from '../scan/open-source.ts';
import { recipeFromSettings } from '../scan/recipe.ts';
import { emptyCounts, scanEntries, scanLog } from '../scan/scan.ts';
import { scanSourceUrl } from '../scan/source-url.ts';
import type {
  CheckpointSet,
  Finding,
  FindingKind,
  HashedBatch,
  LedgerOp,
  LogEntry,
  LogSource,
  SourceItem,
} from '../scan/types.ts';
import { isUnreadable } from '../scan/types.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { StackEndpoints } from '../stack/types.ts';
import { type CanaryResult, runCanaries } from './canaries.ts';
import { FindingSet } from './finding-set.ts';

/** How many entries the canaries are planted among (the start of the log). */
const CANARY_SAMPLE = 5000;

export interface ScanStepResult {
  source: string;
  entries: number;
  /** The findings kept (at most maxFindings; counts has them all). */
  findings: Finding[];
  /** Every finding of this run, by kind (entries from before the run apart, in countsBefore). */
  counts: Record<FindingKind, number>;
  countsBefore: Record<FindingKind, number>;
  findingsOmitted: number;
  /** With `against`: the findings this scan has that the other did not (capped; freshCounts exact). */
  fresh?: Finding[];
  freshCounts?: Record<FindingKind, number>;
  /** With `keepKeys`: every finding's identity, counted (for a later scan's `against`). */
  keys?: FindingSet;
  checksRun: { name: string; ran: boolean; reason?: string; required: boolean }[];
  checkpointsVerified: number;
  canaries: { planted: number; caught: number; missed: string[]; results: CanaryResult[] } | undefined;
  error?: string;
  durationMs: number;
  /** With `saveLogTo`: the file holding every item this scan read (written even when it failed). */
  savedLog?: string;
}

export interface ScanStepOptions {
  scenario: Scenario;
  scenarioDir: string;
  endpoints: StackEndpoints;
  ledger: LedgerOp[];
  checkpoints?: CheckpointSet & { keyError?: string };
  seed: number;
  /** The log's head before the workload: older entries are verified but not this run's. */
  before?: { lastSeq: number };
  /** Wall-clock ms at the ledger's time 0 (the workload's start): the clock checks' send..ack windows. */
  clockEpochMs?: number;
  /** Keep every finding's identity in the result (the scan before tamper probes). */
  keepKeys?: boolean;
  /** Report, in `fresh`, the findings that this identity set does not have. */
  against?: FindingSet;
  /** Plant canaries (default true). */
  canaries?: boolean;
  maxFindings?: number;
  /** Write every item read, as JSONL under the reference names, gzip, to this file. */
  saveLogTo?: string;
  signal?: AbortSignal;
  onProgress?: (entries: number) => void;
}

/** How many fresh findings a scan keeps as evidence (all are counted). */
const MAX_FRESH = 10_000;

/**
 * Passes items through (one by one or in batches), keeps the first `n` readable entries, and
 * hands every item read to `save` (the replayable copy of the log), in log order.
 */
function sampling(source: LogSource, n: number, save?: LogWriter): { source: LogSource; sample: LogEntry[] } {
  const sample: LogEntry[] = [];
  const keep = (item: SourceItem) => {
    if (sample.length < n && !isUnreadable(item)) sample.push(item);
  };
  const wrapped: LogSource = {
    describe: source.describe,
    ...(source.notAvailable ? { notAvailable: source.notAvailable } : {}),
    ...(source.close ? { close: () => (source.close as () => Promise<void>)() } : {}),
    async *entries(signal?: AbortSignal): AsyncIterable<SourceItem> {
      sample.length = 0;
      for await (const item of source.entries(signal)) {
        keep(item);
        await save?.write([item]);
        yield item;
      }
    },
  };
  if (source.batches) {
    const batches = source.batches.bind(source);
    wrapped.batches = async function* (signal?: AbortSignal) {
      sample.length = 0;
      for await (const batch of batches(signal)) {
        if (sample.length < n) for (const item of batch) keep(item);
        await save?.write(batch);
        yield batch;
      }
    };
  }
  const hashedBatches = (hashed: (signal?: AbortSignal) => AsyncIterable<HashedBatch>) =>
    async function* (signal?: AbortSignal) {
      sample.length = 0;
      for await (const batch of hashed(signal)) {
        if (sample.length < n) for (const item of batch.items) keep(item);
        await save?.write(batch.items);
        yield batch;
      }
    };
  if (source.referenceHashedBatches)
    wrapped.referenceHashedBatches = hashedBatches(source.referenceHashedBatches.bind(source));
  // scan.source.verify: database (sources/pg-verify.ts): the same recipe object, so scanLog uses it.
  if (source.serverHashed) {
    const { recipe, batches } = source.serverHashed;
    (wrapped as { serverHashed?: LogSource['serverHashed'] }).serverHashed = {
      recipe,
      batches: hashedBatches(batches),
    };
  }
  return { sample, source: wrapped };
}

/**
 * What the scan reads, as `auditchaos scan` would take it: a postgres:// URL, an http(s) URL or a
 * path. `${VAR}` in scan.source.url is filled in from the environment here, at use.
 */
export function scanSpec(
  scenario: Scenario,
  scenarioDir: string,
  endpoints: StackEndpoints,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const src = scenario.scan.source;
  const url = scanSourceUrl(src, env)?.url;
  if (src.kind === 'postgres') return url ?? endpoints.databaseUrl ?? '';
  if (src.kind === 'http')
    return new URL(src.path, url ?? endpoints.serviceDirectUrl ?? endpoints.serviceUrl).toString();
  return path.resolve(scenarioDir, src.path);
}

export async function scanStep(opts: ScanStepOptions): Promise<ScanStepResult> {
  const { scenario, endpoints } = opts;
  const src = scenario.scan.source;
  const started = performance.now();
  const recipe = await recipeFromSettings(scenario.scan.chain, opts.scenarioDir);
  let opened: LogSource;
  try {
    const spec = scanSpec(scenario, opts.scenarioDir, endpoints);
    opened = await openSource(spec, {
      mapping: scenario.scan.mapping,
      ...(src.kind === 'postgres' ? { table: src.table } : {}),
      ...(recipe.needsStored ? { stored: true } : {}),
      ...(src.kind === 'postgres' && src.verify ? { verifyIn: src.verify, recipe } : {}),
    });
  } catch (e) {
    // A wrong setting (exit 2) or a bug (70) is not an unreadable log.
    if (isAuditChaosError(e) || isProgrammingError(e)) throw e;
    return failed(`could not open the log: ${(e as Error).message}`, started);
  }
  const save = opts.saveLogTo ? createLogWriter(opts.saveLogTo) : undefined;
  const { source, sample } = sampling(opened, opts.canaries === false ? 0 : CANARY_SAMPLE, save);
  const keys = opts.keepKeys ? new FindingSet() : undefined;
  const against = opts.against?.copy();
  const fresh: Finding[] = [];
  const freshCounts = emptyCounts();
  const onFinding = (f: Finding) => {
    keys?.add(f);
    if (against && !against.take(f)) {
      freshCounts[f.kind]++;
      if (fresh.length < MAX_FRESH) fresh.push(f);
    }
  };
  const checkpointsWanted = scenario.workload.checkpoint !== false;
  const haveCheckpoints =
    Boolean(opts.checkpoints?.publicKey) && (opts.checkpoints?.checkpoints.length ?? 0) > 0;
  const result = await scanLog({
    source,
    recipe,
    ledger: opts.ledger,
    ...(haveCheckpoints && opts.checkpoints ? { checkpoints: opts.checkpoints } : {}),
    ...(opts.before ? { before: opts.before } : {}),
    ...(opts.maxFindings !== undefined ? { maxFindings: opts.maxFindings } : {}),
    ...clockOption(scenario, opts.clockEpochMs),
    onFinding,
    signal: opts.signal,
    onProgress: (p) => opts.onProgress?.(p.entries),
  }).catch(async (e: unknown) => {
    await save?.close().catch(() => undefined);
    throw e;
  });
  await opened.close?.().catch(() => undefined);
  const savedLog = await save?.close().then(
    () => opts.saveLogTo,
    () => undefined, // a copy that could not be written is missing evidence, not a failed scan
  );
  const counted = {
    ...(savedLog ? { savedLog } : {}),
    counts: result.counts,
    countsBefore: result.countsBefore,
    findingsOmitted: result.findingsOmitted,
    ...(keys ? { keys } : {}),
    ...(against ? { fresh, freshCounts } : {}),
  };
  const checksRun = result.checksRun.map((c) => ({
    ...c,
    // A check the run relies on and that could not run makes the verdict unknown.
    required: c.name === 'checkpoint' ? checkpointsWanted : c.name !== 'partial',
    ...(c.name === 'checkpoint' && !c.ran && checkpointsWanted && opts.checkpoints?.keyError
      ? { reason: `${c.reason ?? 'not run'} (checkpoint key: ${opts.checkpoints.keyError})` }
      : {}),
  }));
  if (result.readError) {
    return {
      ...failed(result.readError, started),
      source: result.source,
      entries: result.entries,
      findings: result.findings,
      ...counted,
      checksRun,
    };
  }
  if (opts.canaries === false) {
    return {
      source: result.source,
      entries: result.entries,
      findings: result.findings,
      ...counted,
      checksRun,
      checkpointsVerified: result.checkpoints?.verified ?? 0,
      canaries: undefined,
      durationMs: Math.round(performance.now() - started),
    };
  }

  const rnd = seededRandom(opts.seed, streamOf('canaries'));
  // Every finding, not the first maxFindings: on a log broken everywhere a planted defect's finding
  // comes after the cap, and a cut list would call a working check blind (0/5 under load).
  const check = async (entries: LogEntry[]) => {
    const all: Finding[] = [];
    await scanEntries(entries, { recipe, maxFindings: 0, onFinding: (f) => all.push(f) });
    return all;
  };
  const { results, skipped } = await runCanaries(sample, check, {
    pick: (n) => Math.floor(uniform(rnd) * n),
    rechain: (es, from) => {
      for (let i = from; i < es.length; i++) {
        const e = es[i] as LogEntry;
        e.prevHash = i === 0 ? recipe.genesis : (es[i - 1] as LogEntry).hash;
        e.hash = recipe.hash(e.prevHash, e);
      }
    },
  });
  const canaries = skipped
    ? undefined
    : {
        planted: results.length,
        caught: results.filter((r) => r.caught).length,
        missed: results.filter((r) => !r.caught).map((r) => r.name),
        results,
      };
  return {
    source: result.source,
    entries: result.entries,
    findings: result.findings,
    ...counted,
    checksRun,
    checkpointsVerified: result.checkpoints?.verified ?? 0,
    canaries,
    durationMs: Math.round(performance.now() - started),
  };
}

/** The clock checks' settings when the scenario asks for them (src/scan/checks/clock.ts). */
function clockOption(scenario: Scenario, epochMs: number | undefined) {
  const settings = clockCheckSettings(scenario);
  return settings ? { clock: { ...settings, ...(epochMs !== undefined ? { epochMs } : {}) } } : {};
}

function failed(error: string, started: number): ScanStepResult {
  return {
    source: '',
    entries: 0,
    findings: [],
    counts: emptyCounts(),
    countsBefore: emptyCounts(),
    findingsOmitted: 0,
    checksRun: [],
    checkpointsVerified: 0,
    canaries: undefined,
    error,
    durationMs: Math.round(performance.now() - started),
  };
}
