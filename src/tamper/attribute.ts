/**
 * Decides, for each tamper probe that changed the log, whether the scan noticed: the findings its
 * change explains (at the rows it changed, removed or added, or the entry right after) are folded
 * into one tamper-detected finding (a warning: tamper-evident, not tamper-proof). A change no check
 * noticed becomes tamper-undetected (a violation). Pure.
 */
import { type Finding, SEVERITY } from '../scan/types.ts';
import type { TamperRecord } from './probes.ts';

// rollback: a signed checkpoint had observed the row the probe changed or removed (the checkpoint
// check noticed the probe; found in the detection matrix: a checkpoint polled while the head was
// seq 7, which the db-downtime scenario's delete probe removes, failed the correct service).
const EXPLAINABLE = new Set(['broken-chain', 'partial', 'missing', 'duplicate', 'unexpected', 'rollback']);

export function attributeTamper(
  probes: TamperRecord[],
  findings: readonly Finding[],
): { findings: Finding[]; probes: TamperRecord[] } {
  const remaining = [...findings];
  const added: Finding[] = [];
  for (const p of probes) {
    if (p.outcome !== 'accepted' && p.outcome !== 'appended') continue;
    const { changed, removed, added: addedSeqs, eventIds } = p.affected;
    const seqs = new Set<number>([...changed, ...addedSeqs]);
    for (const s of changed) seqs.add(s + 1);
    for (const s of removed) {
      seqs.add(s);
      seqs.add(s + 1);
    }
    const ids = new Set(eventIds);
    const explained: Finding[] = [];
    for (let i = remaining.length - 1; i >= 0; i--) {
      const f = remaining[i] as Finding;
      if (!EXPLAINABLE.has(f.kind)) continue;
      const bySeq = f.seq !== undefined && seqs.has(f.seq);
      const byId = f.eventId !== undefined && ids.has(f.eventId);
      if (bySeq || byId) {
        explained.unshift(f);
        remaining.splice(i, 1);
      }
    }
    const detectedBy = explained.filter((f) => f.kind !== 'unexpected');
    // A new entry that keeps the chain valid is the append-only way to record a correction.
    if (p.outcome === 'appended' && detectedBy.length === 0) continue;
    p.detection = detectedBy.length > 0 ? 'detected' : 'undetected';
    const where = [
      changed.length ? `changed seq ${changed.join(', ')}` : '',
      removed.length ? `removed seq ${removed.join(', ')}` : '',
      addedSeqs.length ? `added seq ${addedSeqs.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    const kind = p.detection === 'detected' ? 'tamper-detected' : 'tamper-undetected';
    added.push({
      kind,
      severity: SEVERITY[kind],
      check: 'tamper',
      seq: changed[0] ?? removed[0] ?? addedSeqs[0],
      message:
        p.detection === 'detected'
          ? `tamper probe "${p.name}" (${p.via}) ${where}, and the scan noticed: ${detectedBy.map((f) => f.kind).join(', ')}`
          : `tamper probe "${p.name}" (${p.via}) ${where}, and no check noticed`,
      detail: {
        probe: p.name,
        request: p.request,
        explained: explained.map((f) => ({ kind: f.kind, seq: f.seq, message: f.message })),
      },
    });
  }
  return { findings: [...remaining, ...added], probes };
}
