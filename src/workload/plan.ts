/**
 * The workload plan: a pure function of (workload spec, seed). Op i's arrival offset, actor,
 * action, payload and the random part of its event id depend on nothing else, so the same
 * scenario and seed always give the same plan, and ops are generated on demand (memory does not
 * grow with the run's length).
 */
import * as crypto from 'node:crypto';

// One-shot crypto.hash (Node >= 20.12) is several times cheaper than createHash for small inputs.
const sha256Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) =>
        (crypto as unknown as { hash: (a: string, d: string, e: string) => string }).hash(
          'sha256',
          text,
          'hex',
        )
    : (text) => crypto.createHash('sha256').update(text).digest('hex');

import { seededRandom } from '../random.ts';
import type { Scenario } from '../scenario/schema.ts';
import { compileTextTemplate } from './template.ts';

export type WorkloadSpec = Scenario['workload'];

export interface PlannedOp {
  /** 0-based position in arrival order. */
  index: number;
  /** When it arrives, ms after the workload's start (constant arrival rate). */
  offsetMs: number;
  /** The planned lane, 1-based: `{n}` in the actor and action templates is `index % writers + 1`. */
  lane: number;
  actor: string;
  action: string;
  /** The payload as RFC 8785 canonical JSON text: exactly what is sent and what is digested. */
  payloadJson: string;
  /** SHA-256 hex of payloadJson, equal to payloadDigest(JSON.parse(payloadJson)). */
  payloadDigest: string;
  /** 16 seeded bytes for UUIDv7's random fields (the time field comes from the clock). */
  idRandom: Uint8Array;
}

export interface WorkloadPlan {
  seed: number;
  /** How many ops arrive during the workload's duration. */
  count: number;
  ratePerSec: number;
  durationMs: number;
  offsetMs(index: number): number;
  /** How many ops have arrived `elapsedMs` after the start (op 0 arrives at 0). */
  arrivedBy(elapsedMs: number): number;
  op(index: number): PlannedOp;
  ops(): Iterable<PlannedOp>;
}

// JSON-safe, JCS-stable characters: the payload text needs no escaping and canonicalizes to itself.
const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 'latin1');
const EMPTY_DATA_OBJECT = '{"data":""}';

/** A JSON object of exactly `bytes` bytes when bytes >= 11 (`{"data":"..."}`), else `{}`. */
export function payloadText(bytes: number, next: () => number): string {
  const n = bytes - EMPTY_DATA_OBJECT.length;
  if (n < 0) return '{}';
  const buf = Buffer.allocUnsafe(n);
  let i = 0;
  while (i < n) {
    let r = next();
    for (let k = 0; k < 5 && i < n; k++, r >>>= 6) buf[i++] = ALPHABET[r & 63] as number;
  }
  return `{"data":"${buf.toString('latin1')}"}`;
}

export function planWorkload(spec: WorkloadSpec, seed: number): WorkloadPlan {
  const rate = spec.rate;
  const durationMs = spec.duration;
  const count = Math.max(0, Math.ceil((durationMs * rate) / 1000 - 1e-9));
  const actorOf = compileTextTemplate(spec.event.actor, 'raw');
  const actionOf = compileTextTemplate(spec.event.action, 'raw');
  const writers = spec.writers;
  const offsetMs = (i: number) => (i * 1000) / rate;

  const op = (index: number): PlannedOp => {
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`op ${index} is outside the plan (0..${count - 1})`);
    }
    const next = seededRandom(seed, index);
    const idRandom = new Uint8Array(16);
    for (let i = 0; i < 16; i += 4) {
      const r = next();
      idRandom[i] = r & 0xff;
      idRandom[i + 1] = (r >>> 8) & 0xff;
      idRandom[i + 2] = (r >>> 16) & 0xff;
      idRandom[i + 3] = r >>> 24;
    }
    const payloadJson = payloadText(spec.event.payloadBytes, next);
    const lane = (index % writers) + 1;
    const values = { n: String(lane), op: String(index), eventId: '', actor: '', action: '', payload: '' };
    return {
      index,
      offsetMs: offsetMs(index),
      lane,
      actor: actorOf(values),
      action: actionOf(values),
      payloadJson,
      payloadDigest: sha256Hex(payloadJson),
      idRandom,
    };
  };

  return {
    seed,
    count,
    ratePerSec: rate,
    durationMs,
    offsetMs,
    arrivedBy: (elapsedMs) =>
      elapsedMs < 0 ? 0 : Math.min(count, Math.floor((elapsedMs * rate) / 1000 + 1e-9) + 1),
    op,
    *ops() {
      for (let i = 0; i < count; i++) yield op(i);
    },
  };
}
