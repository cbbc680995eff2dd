/**
 * The report of one run: a versioned, documented data model (docs/report.md). `run` builds a
 * Report and hands it to the renderers; report.json is this object, and
 * schema/report.schema.json is its JSON Schema. Times inside a run are ms since the workload's
 * start unless a field says otherwise; wall-clock times are ISO 8601 UTC strings.
 */
import { z } from 'zod';
import { FINDING_KINDS } from '../scenario/vocabulary.ts';

export const REPORT_SCHEMA_VERSION = 1;

const ms = z.number().min(0).meta({ description: 'milliseconds' });
const msSinceStart = z.number().meta({ description: 'ms since the workload started' });
const count = z.int().min(0);
const nullableMs = z.number().min(0).nullable().meta({ description: 'ms; null when there was no sample' });

export const phaseSchema = z.strictObject({
  name: z
    .string()
    .meta({ description: 'stack-up, proxies, workload, heal, tamper, scan, report, stack-down' }),
  startMs: ms.meta({ description: 'ms since the run started (timings.startedAt)' }),
  durationMs: ms.meta({ description: 'how long the phase took' }),
});

export const seriesPointSchema = z
  .strictObject({
    t: z.int().min(0).meta({ description: 'second of the run (0-based) this bucket covers' }),
    ok: count.meta({ description: 'writes acknowledged in this second' }),
    errors: count.meta({ description: 'writes that failed definitely in this second' }),
    indeterminate: count.meta({ description: 'writes with unknown outcome in this second' }),
    p50: nullableMs,
    p99: nullableMs,
  })
  .meta({ description: 'one second of the workload, as the writers saw it' });

export const faultRecordSchema = z.strictObject({
  id: z.string(),
  kind: z.string().meta({ description: 'fault kind of the scenario: latency, partition, db-down, ...' }),
  target: z.string().meta({ description: 'what it hit: "proxy api", "db", "service 0", ...' }),
  params: z.record(z.string(), z.unknown()),
  plannedAt: msSinceStart,
  plannedFor: ms,
  startedAt: msSinceStart.optional().meta({ description: 'absent when it never started' }),
  endedAt: msSinceStart.optional().meta({ description: 'absent when it was never healed (interrupted run)' }),
  error: z.string().optional(),
  waitedFor: z.string().optional().meta({
    description:
      'set when the fault started later than planned because an earlier fault on its target had not healed yet: how late, and which fault',
  }),
  output: z
    .strictObject({ start: z.string().optional(), heal: z.string().optional() })
    .optional()
    .meta({ description: 'command faults: what the start and heal commands printed (cut)' }),
  effect: z
    .union([
      z.strictObject({ connections: count.nullable(), bytes: count }),
      z.strictObject({ packets: count, acted: z.record(z.string(), count), retransmitted: count.optional() }),
      z.literal('unknown'),
    ])
    .optional()
    .meta({
      description:
        "proxy faults: the connections (open or opened) and bytes the proxy carried while the fault was active; connections null where the proxy counts only bytes (Toxiproxy -proxy-metrics); 'unknown' where it has no counters. packet faults: the packets the target's link carried and what the fault did to them (dropped, duplicated, corrupted, overRate, delayed)",
    }),
  noEffect: z
    .string()
    .optional()
    .meta({ description: 'set when the fault had no effect: why (its proxy carried no traffic)' }),
});

export const TAMPER_OUTCOMES = ['refused', 'appended', 'accepted', 'error'] as const;

export const tamperRecordSchema = z.strictObject({
  name: z.string(),
  via: z.enum(['sql', 'api']),
  request: z.string().meta({ description: 'the SQL statement, or METHOD path' }),
  outcome: z.enum(TAMPER_OUTCOMES).meta({
    description:
      'refused: the stack said no; appended: it became a new entry (correct for an append-only log); accepted: the mutation succeeded; error: the probe itself failed',
  }),
  detail: z.string(),
  detection: z
    .enum(['detected', 'undetected'])
    .optional()
    .meta({ description: 'for accepted mutations: whether the scan noticed' }),
});

const storySchema = z.strictObject({
  writer: z.strictObject({
    sentAt: z.number(),
    answeredAt: z.number(),
    outcome: z.enum(['ok', 'fail', 'indeterminate', 'not-sent']),
    status: z.int().optional(),
    error: z.string().optional(),
    attempts: z.int(),
  }),
  activeAtSend: z.array(z.string()),
  activeAtAnswer: z.array(z.string()),
  nearest: z
    .strictObject({
      id: z.string(),
      label: z.string(),
      relation: z.enum(['during', 'before', 'after']),
      gapMs: z.number(),
    })
    .optional()
    .meta({ description: 'the fault closest in time to the answer the writer got' }),
  text: z.string().meta({ description: '"sent at 5.80 s, acked at 5.83 s, 37 ms before f1 db-down kill"' }),
});

export const findingSchema = z.strictObject({
  kind: z.enum(FINDING_KINDS),
  severity: z.enum(['violation', 'warning', 'info']),
  message: z.string(),
  seq: z.int().optional(),
  line: z.int().optional(),
  eventId: z.string().optional(),
  expected: z.string().optional(),
  found: z.string().optional(),
  check: z.string(),
  detail: z
    .record(z.string(), z.unknown())
    .optional()
    .meta({ description: 'extra evidence; detail.activeFaults lists the faults active when the op ran' }),
  preexisting: z
    .boolean()
    .optional()
    .meta({ description: 'about an entry that was in the log before this run (shown apart)' }),
  story: storySchema.optional().meta({
    description: "the writer's view of the op and the faults around it (src/report/story.ts)",
  }),
});

const countsByKind = z
  .record(z.enum(FINDING_KINDS), count)
  .meta({ description: 'findings by kind, every one counted (the findings list may be cut)' });

export const thresholdResultSchema = z.strictObject({
  name: z
    .string()
    .meta({ description: 'the expect key: missing, brokenChain, availability, latency.p99, ...' }),
  expected: z.string().meta({ description: 'as written in the scenario: "0", ">= 70%", "< 500ms"' }),
  actual: z.union([z.number(), z.string()]).nullable().meta({
    description:
      'a number, or a word for outcomes (a tamper probe: "accepted, detected"); null when not measured',
  }),
  pass: z.boolean(),
  note: z
    .string()
    .optional()
    .meta({ description: 'how to read the result: why it was not checked, what "actual" means' }),
});

const lagPercentiles = z.strictObject({ p50: nullableMs, p90: nullableMs, p99: nullableMs, max: nullableMs });

export const visibilitySchema = z.strictObject({
  via: z.enum(['api', 'source']),
  sample: z.number().min(0).max(1).meta({ description: 'share of acknowledged events followed' }),
  pollMs: ms,
  timeoutMs: ms,
  limitMs: ms.meta({ description: 'expect.visibility.max: a later event is delayed' }),
  offered: count.meta({ description: 'acknowledged writes the reader was offered' }),
  followed: count.meta({ description: 'of those, followed (sampled, plus the last ack)' }),
  fates: z.strictObject({
    seen: count.meta({ description: 'found by the reader during the run' }),
    'seen-at-scan': count.meta({ description: 'found only by the final scan, after the reader gave up' }),
    missing: count.meta({ description: 'absent from the final scan too (counted as missing)' }),
    unresolved: count.meta({ description: 'never found, and the scan could not tell' }),
    unproven: count.meta({ description: 'found only at the scan, no read proved it late' }),
  }),
  readErrors: count.meta({ description: 'reads that failed (they prove nothing either way)' }),
  lag: lagPercentiles.meta({ description: 'ack to the first read that found it (as a reader saw it)' }),
  proven: lagPercentiles.meta({
    description: 'ack to the last read that did not find it (a lower bound; findings and thresholds use it)',
  }),
  histogram: z
    .array(z.strictObject({ le: ms.nullable(), count }))
    .meta({ description: 'lag as read, by bucket (upper bound in ms; null: above the last)' }),
  points: z
    .array(
      z.strictObject({
        t: msSinceStart.meta({ description: 'the ack' }),
        lagMs: ms.optional(),
        provenMs: ms,
        atScan: z.boolean().optional(),
        delayed: z.boolean().optional(),
      }),
    )
    .meta({ description: 'lag over time (at most 2000 points; every delayed one kept)' }),
  notChecked: z.string().optional(),
});

export const reportSchema = z
  .strictObject({
    schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
    tool: z.strictObject({ name: z.string(), version: z.string() }),
    runId: z.string(),
    scenario: z.strictObject({
      name: z.string(),
      description: z.string(),
      file: z.string().optional(),
      asRun: z
        .record(z.string(), z.unknown())
        .meta({ description: 'the parsed scenario, defaults filled, durations in ms' }),
    }),
    seed: z.int(),
    overview: z
      .strictObject({
        subject: z.string().meta({ description: 'the system under test: service, flaws, runtime' }),
        sentences: z.array(z.string()).meta({ description: 'one per violated invariant, readable aloud' }),
      })
      .optional(),
    runtime: z.strictObject({
      kind: z.string().meta({ description: 'compose, local or external' }),
      why: z.string().meta({ description: 'why this runtime: "docker answered", "no Docker engine", ...' }),
      versions: z
        .record(z.string(), z.string())
        .meta({ description: 'node, postgres, toxiproxy, service, ...' }),
    }),
    timings: z.strictObject({
      startedAt: z.iso.datetime(),
      endedAt: z.iso.datetime(),
      durationMs: ms,
      phases: z.array(phaseSchema),
      workloadStartMs: ms.optional().meta({
        description:
          'when the workload clock started, ms since the run started: add it to a time "since the workload started" to place it among the phases',
      }),
    }),
    interrupted: z.boolean().meta({ description: 'true when Ctrl-C or SIGTERM cut the run short' }),
    ops: z.strictObject({
      attempted: count,
      ok: count,
      fail: count,
      indeterminate: count,
      availability: z
        .number()
        .min(0)
        .max(1)
        .nullable()
        .meta({ description: 'ok / attempted; null when nothing was attempted' }),
    }),
    latency: z.strictObject({ p50: nullableMs, p90: nullableMs, p99: nullableMs, max: nullableMs }),
    driver: z
      .strictObject({
        notSent: count.meta({
          description: 'requests that arrived on schedule but the load driver never sent (outcome not-sent)',
        }),
        share: z.number().min(0).max(1).meta({ description: 'notSent / arrived (0..1)' }),
        loopLagP99Ms: ms.meta({ description: "the driver's event-loop delay during the workload, p99" }),
        loopLagMaxMs: ms.optional(),
        fellBehind: z.boolean().meta({
          description:
            'the driver could not keep its schedule (more than 1% not sent, or event-loop lag p99 above 500 ms): availability and latency thresholds are not judged',
        }),
        reason: z.string().optional().meta({ description: 'why it fell behind' }),
      })
      .nullable()
      .optional()
      .meta({ description: "the load driver's own health; null when no workload ran" }),
    series: z.array(seriesPointSchema),
    faults: z.array(faultRecordSchema),
    tamper: z.array(tamperRecordSchema),
    checkpoints: z.strictObject({
      count: count,
      verified: count,
      publicKey: z.string().optional().meta({ description: 'PEM (SPKI) Ed25519 public key' }),
    }),
    scan: z
      .strictObject({
        source: z.string().meta({ description: 'where the log was read from, credentials redacted' }),
        entries: count,
        checksRun: z.array(
          z.strictObject({ name: z.string(), ran: z.boolean(), reason: z.string().optional() }),
        ),
        durationMs: ms,
        counts: countsByKind
          .optional()
          .meta({ description: "findings of this run's entries by kind, all counted" }),
        countsBefore: countsByKind.optional().meta({
          description: 'findings on entries that were in the log before the run, by kind',
        }),
        findingsOmitted: count
          .optional()
          .meta({ description: 'findings counted but left out of the findings list' }),
        before: z.strictObject({ entries: count, lastSeq: z.int().optional() }).optional().meta({
          description: 'the log before the workload: these entries were verified, not judged as this run',
        }),
      })
      .nullable()
      .meta({ description: 'null when the run stopped before the scan' }),
    recovery: z
      .strictObject({
        limitMs: ms,
        lastHealAt: msSinceStart,
        healthyAt: msSinceStart.optional(),
        ackedAt: msSinceStart.optional(),
        recoveredInMs: ms.optional().meta({ description: 'absent: it did not recover within the limit' }),
        lastError: z.string().optional(),
        afterHeal: z.strictObject({ attempted: count, ok: count }).meta({
          description: "the writers' ops sent after the last fault healed (post-recovery availability)",
        }),
      })
      .nullable()
      .optional()
      .meta({
        description:
          'liveness after the faults; null when the scenario has no fault or the run stopped first',
      }),
    visibility: visibilitySchema.nullable().optional().meta({
      description: 'with workload.visibility: the visibility lag of the followed events; absent otherwise',
    }),
    findings: z.array(findingSchema),
    canaries: z
      .strictObject({ planted: count, caught: count, missed: z.array(z.string()) })
      .nullable()
      .meta({ description: "the verifier's self-check; null when it did not run" }),
    thresholds: z.array(thresholdResultSchema),
    verdict: z.strictObject({
      status: z.enum(['pass', 'fail', 'unknown']),
      reasons: z.array(z.string()),
    }),
    files: z.array(z.string()).meta({ description: 'files of the report folder, relative to it' }),
  })
  .meta({
    title: 'auditchaos report',
    description: 'What one auditchaos run did and found (report.json).',
  });

export type Report = z.output<typeof reportSchema>;
export type FaultRecord = z.output<typeof faultRecordSchema>;
export type TamperRecord = z.output<typeof tamperRecordSchema>;
export type ReportFinding = z.output<typeof findingSchema>;
export type ThresholdResult = z.output<typeof thresholdResultSchema>;
export type SeriesPoint = z.output<typeof seriesPointSchema>;
export type VerdictStatus = Report['verdict']['status'];

/** The JSON Schema published as schema/report.schema.json. */
export function reportJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(reportSchema, { io: 'output', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return { ...schema, $id: 'https://auditchaos.dev/schema/report-v1.json' };
}

export { INVARIANTS, type InvariantSpec } from '../scenario/vocabulary.ts';
