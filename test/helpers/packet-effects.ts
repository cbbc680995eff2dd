import { expect } from 'vitest';
import type { Report } from '../../src/report/model.ts';

type FaultRecord = Report['faults'][number];

/**
 * A loss fault and a corruption fault on the database link, judged by the kernel's own counters:
 * drops near the asked share of what PostgreSQL sent and the retransmissions they cost; corrupted
 * packets, dropped by the receiver (bad checksum) and resent. Neither is "had no effect".
 */
export function expectLossAndCorruption(
  loss: FaultRecord | undefined,
  corrupt: FaultRecord | undefined,
): void {
  const le = loss?.effect;
  const ce = corrupt?.effect;
  if (!le || le === 'unknown' || !('packets' in le)) throw new Error(`loss effect: ${JSON.stringify(le)}`);
  if (!ce || ce === 'unknown' || !('packets' in ce)) throw new Error(`corrupt effect: ${JSON.stringify(ce)}`);
  expect(le.acted.dropped).toBeGreaterThan(0);
  expect((le.acted.dropped ?? 0) / le.packets).toBeGreaterThan(0.1);
  expect((le.acted.dropped ?? 0) / le.packets).toBeLessThan(0.6);
  expect(le.retransmitted).toBeGreaterThan(0);
  expect(ce.acted.corrupted).toBeGreaterThan(0);
  expect(ce.retransmitted).toBeGreaterThan(0);
  expect(loss?.noEffect).toBeUndefined();
  expect(corrupt?.noEffect).toBeUndefined();
}
