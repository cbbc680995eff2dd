/**
 * A damaged JSONL log of the reference format (every kind of line the JSONL source distinguishes,
 * defects for every check) with a history and checkpoints that exercise the ledger and checkpoint
 * checks: shared by the tests that compare parallel and range scans with the one-thread scan.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { referenceLines, toJsonLine } from '../../src/scan/generate.ts';
import { jcs, payloadDigest } from '../../src/scan/reference-chain.ts';
import type { CheckpointSet, LedgerOp } from '../../src/scan/types.ts';

export const N = 20_000;

/** The finding kinds a scan of damagedLines() with its history and checkpoints must report. */
export const DAMAGE_KINDS = [
  'broken-chain',
  'partial',
  'duplicate',
  'missing',
  'unexpected',
  'indeterminate',
  'rollback',
] as const;

/** A damaged log: every kind of line the JSONL source distinguishes, and defects for every check. */
export function damagedLines(): string[] {
  const gen = [...referenceLines({ count: N, payloadBytes: 24 })];
  const lines = gen.map((b) => b.line);
  lines[10] = lines[10]!.replace('"ok":true', '"ok":false'); // content edit
  lines.splice(500, 3); // a gap
  [lines[1000], lines[1001]] = [lines[1001]!, lines[1000]!]; // swapped pair
  lines[1500] = lines[1500]!.replace(/"payload":\{[^}]*\}/, '"payload":{"b":1,"a":[1.5,-0,1e21]}');
  lines[2000] = '{"seq": 2001, broken';
  lines[2500] = toJsonLine(gen[2500]!.entry); // other key order
  lines[3000] = lines[3000]!.replace('"actor":"', '"actor":"\\u00e9\\n'); // escapes, hash now wrong
  lines[3500] = `${lines[3500]!.replace('"payload":{', '"payload":{"name":"zoë 😀",')}\r`; // UTF-8, CRLF
  lines[4000] = lines[4000]!.replace(/"actor":"[^"]*"/, '"actor":""'); // partial
  lines[4500] = lines[4500]!.replace('"seq":', '"seq": '); // whitespace: general path
  lines.splice(5000, 0, '', '   ', 'null', '{}');
  // not I-JSON (duplicate member names, a lone surrogate): partial, on every path alike
  lines[6000] = lines[6000]!.replace('"payload":{', '"payload":{"amount":1000000,"amount":5,');
  lines[6500] = lines[6500]!.replace('"payload":{', '"payload":{"note":"\\ud800",');
  lines[7000] = lines[7000]!.replace('"actor":', '"actor":"hidden","actor":');
  lines[9000] = lines[9000]!.replace(/"prev_hash":"[0-9a-f]{4}/, '"prev_hash":"ffff'); // broken link
  lines.push(lines[20]!); // duplicate id
  lines.push(lines[12_000]!.slice(0, -1)); // truncated last line, no newline at the end
  return lines;
}

/** A history for the damaged log: ok, failed, indeterminate and never-sent ops, digests, and ops never written. */
export function historyFor(lines: string[]): LedgerOp[] {
  const ops: LedgerOp[] = [];
  let i = 0;
  for (const line of lines) {
    let e: { event_id?: unknown; payload?: unknown; seq?: unknown };
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof e?.event_id !== 'string') continue;
    i++;
    if (i % 997 === 0) continue; // unexpected: no writer attempted it
    const outcome =
      i % 1499 === 0 ? 'fail' : i % 1201 === 0 ? 'not-sent' : i % 401 === 0 ? 'indeterminate' : 'ok';
    const digest = i % 1301 === 0 ? 'f'.repeat(64) : payloadDigest(e.payload); // a digest that differs
    ops.push({
      eventId: e.event_id,
      outcome,
      payloadDigest: digest,
      invokedAt: i,
      completedAt: i + 1,
      attempts: 1,
    });
  }
  for (let k = 0; k < 5; k++)
    ops.push({
      eventId: `lost-${k}`,
      outcome: k % 2 ? 'ok' : 'indeterminate',
      payloadDigest: '',
      invokedAt: 1,
      completedAt: 2,
      attempts: 1,
    });
  return ops;
}

export function checkpointsFor(lines: string[]): CheckpointSet {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const cp = (seq: number, hash: string) => {
    const body = { seq, hash, ts: '2026-12-02T12:00:00.000000Z' };
    return { ...body, signature: sign(null, Buffer.from(jcs(body)), privateKey).toString('base64') };
  };
  const at = (k: number) => JSON.parse(lines[k]!) as { seq: number; hash: string };
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    checkpoints: [
      cp(at(100).seq, at(100).hash),
      cp(at(3001).seq, 'ab'.repeat(32)), // rewritten since
      { ...cp(at(8000).seq, at(8000).hash), signature: 'AAAA' }, // bad signature
      cp(N + 50, 'cd'.repeat(32)), // a lost tail
    ],
  };
}
