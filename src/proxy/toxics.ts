/**
 * Toxic definitions: the types Toxiproxy 2.x knows, their attribute names and defaults, and the
 * parsing of the API's JSON bodies into a Toxic (pure: no sockets, no timers). Messages follow
 * Toxiproxy's (which come from Go's encoding/json) closely enough for clients that match on them.
 */
import { badRequestBody, invalidStream, invalidToxicType, toxicAlreadyExists } from './api-error.ts';

export type StreamDirection = 'upstream' | 'downstream';

export const TOXIC_TYPES = {
  latency: ['latency', 'jitter'],
  bandwidth: ['rate'],
  slow_close: ['delay'],
  timeout: ['timeout'],
  reset_peer: ['timeout'],
  slicer: ['average_size', 'size_variation', 'delay'],
  limit_data: ['bytes'],
} as const satisfies Record<string, readonly string[]>;

export type ToxicType = keyof typeof TOXIC_TYPES;

export interface Toxic {
  name: string;
  type: ToxicType;
  stream: StreamDirection;
  /** Probability, per connection and direction, that the toxic acts on it. */
  toxicity: number;
  /** Every attribute of the type, unset ones 0, as Toxiproxy shows them. */
  attributes: Record<string, number>;
}

/** The JSON shape of a toxic, keys in Toxiproxy's order. */
export function toxicJson(t: Toxic): Toxic {
  return {
    attributes: { ...t.attributes },
    name: t.name,
    type: t.type,
    stream: t.stream,
    toxicity: t.toxicity,
  };
}

function isToxicType(s: string): s is ToxicType {
  return Object.hasOwn(TOXIC_TYPES, s);
}

function goType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

function expectObject(v: unknown, goName: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw badRequestBody(`json: cannot unmarshal ${goType(v)} into Go value of type ${goName}`);
  }
  return v as Record<string, unknown>;
}

function stringField(body: Record<string, unknown>, key: string, fallback: string): string {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') {
    throw badRequestBody(
      `json: cannot unmarshal ${goType(v)} into Go struct field ToxicWrapper.${key} of type string`,
    );
  }
  return v;
}

function toxicityField(body: Record<string, unknown>, fallback: number): number {
  const v = body.toxicity;
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number') {
    throw badRequestBody(
      `json: cannot unmarshal ${goType(v)} into Go struct field ToxicWrapper.toxicity of type float32`,
    );
  }
  // Toxiproxy accepts any float here; a toxicity outside [0, 1] is always a mistake, so refuse it.
  if (!(v >= 0 && v <= 1)) throw badRequestBody(`toxicity must be between 0 and 1, got ${v}`);
  return v;
}

/** Merges `raw` attributes into `base` (Toxiproxy decodes into the existing struct), validated. */
function mergeAttributes(
  type: ToxicType,
  base: Record<string, number>,
  raw: unknown,
): Record<string, number> {
  const out = { ...base };
  if (raw === undefined || raw === null) return validateAttributes(type, out);
  const obj = expectObject(raw, 'toxics.Toxic attributes');
  for (const key of TOXIC_TYPES[type]) {
    const v = obj[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      throw badRequestBody(
        `json: cannot unmarshal ${typeof v === 'number' ? `number ${v}` : goType(v)} into Go struct field .attributes.${key} of type int64`,
      );
    }
    out[key] = v;
  }
  return validateAttributes(type, out);
}

/** Refusals Toxiproxy does not make, where its toxic would misbehave (crash, spin, or go backwards). */
function validateAttributes(type: ToxicType, a: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(a)) {
    if (v < 0) throw badRequestBody(`attribute ${k} of a ${type} toxic must not be negative, got ${v}`);
  }
  if (type === 'slicer') {
    const avg = a.average_size ?? 0;
    const variation = a.size_variation ?? 0;
    if (avg < 1) throw badRequestBody('attribute average_size of a slicer toxic must be at least 1');
    // Toxiproxy survives size_variation == average_size (toxiproxy-node-client's own test sends
    // 1000/1000); above it, its cuts can land before their range's start and it panics.
    if (variation > avg) {
      throw badRequestBody(
        `attribute size_variation of a slicer toxic must not exceed average_size (${avg}), got ${variation}`,
      );
    }
  }
  return a;
}

/** POST /proxies/{proxy}/toxics: defaults stream downstream, toxicity 1, name <type>_<stream>. */
export function parseToxicCreate(raw: unknown, exists: (name: string) => boolean): Toxic {
  const body = expectObject(raw, 'toxics.ToxicWrapper');
  const streamRaw = stringField(body, 'stream', 'downstream');
  const toxicity = toxicityField(body, 1);
  const typeRaw = stringField(body, 'type', '');
  const nameRaw = stringField(body, 'name', '');
  const stream = streamRaw.toLowerCase();
  if (stream !== 'upstream' && stream !== 'downstream') throw invalidStream();
  const name = nameRaw === '' ? `${typeRaw}_${stream}` : nameRaw;
  if (!isToxicType(typeRaw)) throw invalidToxicType();
  if (exists(name)) throw toxicAlreadyExists();
  const zero = Object.fromEntries(TOXIC_TYPES[typeRaw].map((k) => [k, 0]));
  const attributes = mergeAttributes(typeRaw, zero, body.attributes);
  return { name, type: typeRaw, stream, toxicity, attributes };
}

/** POST|PATCH /proxies/{proxy}/toxics/{toxic}: attributes and toxicity merge; the rest is ignored. */
export function parseToxicUpdate(current: Toxic, raw: unknown): Toxic {
  const body = expectObject(raw, 'struct { Attributes interface {}; Toxicity float32 }');
  const toxicity = toxicityField(body, current.toxicity);
  const attributes = mergeAttributes(current.type, current.attributes, body.attributes);
  return { ...current, toxicity, attributes };
}
