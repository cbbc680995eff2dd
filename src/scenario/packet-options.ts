/**
 * The options of a `packet` fault (netem's vocabulary: loss, delay with jitter and correlation,
 * duplicate, reorder, corrupt, rate) and their units: percentages ("30%" or 30) and bit rates
 * ("1mbit", "500kbit", "2mbps"). Pure: the scenario schema imports it; src/stack/netns/ turns the
 * parsed options into tc or nft commands.
 */
import { z } from 'zod';

export const PERCENT_HINT = 'a percentage such as 30% or 0.5% (or a number from 0 to 100)';

/** 0..100, or undefined when the text is not a percentage. */
export function parsePercent(v: string | number): number | undefined {
  const n = typeof v === 'number' ? v : /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v)?.[1];
  const x = n === undefined ? Number.NaN : Number(n);
  return Number.isFinite(x) && x >= 0 && x <= 100 ? x : undefined;
}

const percent = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const p = parsePercent(v);
    if (p === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not ${PERCENT_HINT}` });
      return z.NEVER;
    }
    return p;
  })
  .meta({ description: PERCENT_HINT });

const BIT_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};
export const BITRATE_HINT =
  'a rate such as 1mbit, 500kbit or 2mbps (tc units: bit, kbit, mbit, bps = bytes/s, ...)';

/** Bits per second, or undefined when the text is not a rate in tc's units. */
export function parseBitRate(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  const unit = BIT_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) return undefined;
  const bits = Math.round(Number(m[1]) * unit);
  return bits >= 8 ? bits : undefined;
}

const bitRate = z
  .string()
  .transform((v, ctx) => {
    const b = parseBitRate(v);
    if (b === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not ${BITRATE_HINT}` });
      return z.NEVER;
    }
    return b;
  })
  .meta({ description: BITRATE_HINT });

/** `loss: 30%` or `loss: { percent: 30%, correlation: 25% }`: one shape after parsing. */
const chance = z
  .union([
    percent.transform((p) => ({ percent: p, correlation: 0 })),
    z.strictObject({ percent, correlation: percent.default(0) }),
  ])
  .meta({ description: 'a percentage, or { percent, correlation } (correlation: netem only)' });

export function packetOptionsShape(duration: z.ZodType<number, unknown>) {
  return {
    target: z.string().min(1).meta({
      description:
        'the service whose network interface suffers: the database or the audit-log service (a name in stack.services, or postgres / auditlog of the reference stack)',
    }),
    loss: chance.optional().meta({ description: 'drop this share of the packets the target sends' }),
    delay: z
      .strictObject({
        time: duration,
        jitter: duration.default(0),
        correlation: percent.default(0),
      })
      .optional()
      .meta({ description: 'netem only: delay each packet the target sends by time ± jitter' }),
    duplicate: chance.optional().meta({ description: 'send this share of the packets twice' }),
    reorder: chance
      .optional()
      .meta({ description: 'netem only, with delay: send this share at once, the rest delayed (reordered)' }),
    corrupt: chance.optional().meta({
      description:
        'damage one byte of this share of the packets; the receiver sees a bad TCP checksum, drops the packet, and the sender retransmits',
    }),
    rate: bitRate.optional().meta({
      description:
        'limit what the target sends to this rate (netem: shaped, queued; nftables: policed, what is over is dropped)',
    }),
  };
}

/** The options as parsed: percentages 0..100, durations in ms, the rate in bits per second. */
export interface PacketOptions {
  loss?: { percent: number; correlation: number };
  delay?: { time: number; jitter: number; correlation: number };
  duplicate?: { percent: number; correlation: number };
  reorder?: { percent: number; correlation: number };
  corrupt?: { percent: number; correlation: number };
  rate?: number;
}

export const PACKET_OPTIONS = ['loss', 'delay', 'duplicate', 'reorder', 'corrupt', 'rate'] as const;
export type PacketOption = (typeof PACKET_OPTIONS)[number];

/** Options only netem can do (a kernel without sch_netem cannot delay or reorder a packet). */
export const NETEM_ONLY: readonly PacketOption[] = ['delay', 'reorder'];

/** Problems of one packet fault's options that the schema cannot say by itself. */
export function packetOptionProblems(o: PacketOptions): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  if (PACKET_OPTIONS.every((k) => o[k] === undefined))
    out.push({ path: 'kind', message: `a packet fault needs at least one of ${PACKET_OPTIONS.join(', ')}` });
  if (o.reorder && !o.delay)
    out.push({
      path: 'reorder',
      message: 'reorder needs delay: netem reorders by sending some packets at once and delaying the rest',
    });
  return out;
}
