/** `auditchaos scan FILE` end to end through the real binary: exit codes, --json, inputs. */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceEntries, writeJsonl } from '../../src/scan/generate.ts';
import { jcs, payloadDigest } from '../../src/scan/reference-chain.ts';
import type { LedgerOp, LogEntry } from '../../src/scan/types.ts';
import { runCli } from '../helpers/cli.ts';

let dir: string;
const log: LogEntry[] = [...referenceEntries({ count: 200 })];
const file = (name: string) => path.join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-scan-cli-'));
  await writeJsonl(file('clean.jsonl.gz'), log, { gzip: true });
  await writeJsonl(
    file('bad.ndjson'),
    log
      .filter((e) => e.seq !== 50 && e.seq <= 180)
      .map((e) => (e.seq === 120 ? { ...e, payload: { cut: true } } : e)),
  );
  await writeFile(file('empty.jsonl'), '');
  const ops: LedgerOp[] = log.map((e) => ({
    eventId: e.eventId,
    outcome: 'ok',
    payloadDigest: payloadDigest(e.payload),
    invokedAt: e.seq,
    completedAt: e.seq + 2,
    attempts: 1,
    seq: e.seq,
  }));
  ops.push({
    eventId: 'never-written',
    outcome: 'indeterminate',
    payloadDigest: '',
    invokedAt: 1,
    completedAt: 2,
    attempts: 3,
    error: 'timeout',
  });
  await writeFile(file('history.ndjson'), `${ops.map((o) => JSON.stringify(o)).join('\n')}\n`);
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const cp = (e: LogEntry) => {
    const body = { seq: e.seq, hash: e.hash, ts: e.ts };
    return { ...body, signature: sign(null, Buffer.from(jcs(body)), privateKey).toString('base64') };
  };
  await writeFile(
    file('checkpoints.json'),
    JSON.stringify({
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }),
      checkpoints: [cp(log[99]!), cp(log[199]!)],
    }),
  );
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('auditchaos scan FILE', () => {
  it('exit 0 and one JSON object for a clean gzip log with history and checkpoints', async () => {
    const r = await runCli([
      'scan',
      file('clean.jsonl.gz'),
      '--history',
      file('history.ndjson'),
      '--checkpoints',
      file('checkpoints.json'),
      '--json',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ entries: 200, verdict: 'pass', checkpoints: { count: 2, verified: 2 } });
    expect(out.findings).toEqual([
      expect.objectContaining({ kind: 'indeterminate', eventId: 'never-written', severity: 'info' }),
    ]);
    expect(out.checksRun.every((c: { ran: boolean }) => c.ran)).toBe(true);
  });

  it('exit 1 with the findings and their evidence for a damaged log', async () => {
    const r = await runCli([
      'scan',
      file('bad.ndjson'),
      '--history',
      file('history.ndjson'),
      '--checkpoints',
      file('checkpoints.json'),
      '--limit',
      '50',
    ]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/broken-chain\s+seq 51 line 50\s+seq 50 is missing/);
    expect(r.stdout).toMatch(
      /missing\s+seq 50\s+event id .* was acknowledged as seq 50 but is not in the log/,
    );
    expect(r.stdout).toMatch(/partial\s+seq 120/);
    expect(r.stdout).toMatch(
      /rollback\s+seq 200\s+the log ends at seq 180, but signed checkpoints observed it up to seq 200/,
    );
    expect(r.stdout).toMatch(/findings: 21 missing, 1 partial, 2 broken-chain, 1 rollback, 1 indeterminate/);
    expect(r.stdout).toMatch(/verdict: FAIL/);
  });

  it('exit 4 for an empty log, exit 2 for a missing file or a bad flag', async () => {
    const empty = await runCli(['scan', file('empty.jsonl')]);
    expect(empty.exitCode).toBe(4);
    expect(empty.stdout).toMatch(/verdict: UNKNOWN\s+the log is empty/);
    const missing = await runCli(['scan', file('nope.jsonl'), '--map', 'eventId=id']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the log file/);
  });
});
