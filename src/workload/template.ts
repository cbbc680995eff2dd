/**
 * The write request is the scenario's to shape: a JSON body template, a path and header values in
 * which {eventId}, {actor}, {action}, {payload}, {n} and {op} are filled in per op. A template is
 * compiled once into literal chunks and slots, so that filling it per op is string concatenation.
 */

export const PLACEHOLDERS = ['eventId', 'actor', 'action', 'payload', 'n', 'op'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export type PlaceholderValues = Record<Placeholder, string>;

type Slot = { name: Placeholder; as: 'raw' | 'json-string' | 'uri' | 'json-value' };
export type CompiledTemplate = (values: PlaceholderValues) => string;

/** The body sent when the scenario names none: what the reference service's POST /events takes. */
export const DEFAULT_BODY_TEMPLATE = {
  event_id: '{eventId}',
  actor: '{actor}',
  action: '{action}',
  payload: '{payload}',
};

const IN_TEXT = /\{(eventId|actor|action|payload|n|op)\}/g;

function compileParts(parts: (string | Slot)[]): CompiledTemplate {
  const lits: string[] = [];
  const slots: Slot[] = [];
  let cur = '';
  for (const p of parts) {
    if (typeof p === 'string') cur += p;
    else {
      lits.push(cur);
      slots.push(p);
      cur = '';
    }
  }
  lits.push(cur);
  if (slots.length === 0) return () => cur;
  return (v) => {
    let out = lits[0] as string;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i] as Slot;
      const value = v[s.name];
      out +=
        s.as === 'raw' || s.as === 'json-value'
          ? value
          : s.as === 'uri'
            ? encodeURIComponent(value)
            : JSON.stringify(value).slice(1, -1);
      out += lits[i + 1] as string;
    }
    return out;
  };
}

function splitText(text: string, as: Slot['as']): (string | Slot)[] {
  const parts: (string | Slot)[] = [];
  let last = 0;
  for (const m of text.matchAll(IN_TEXT)) {
    parts.push(text.slice(last, m.index));
    parts.push({ name: m[1] as Placeholder, as });
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

/** For a path ({eventId} etc. URI-encoded) or a header value (as is). */
export function compileTextTemplate(text: string, as: 'raw' | 'uri'): CompiledTemplate {
  return compileParts(splitText(text, as));
}

/**
 * A JSON body template. A string value that is exactly "{payload}" becomes the payload object
 * itself; placeholders inside longer strings are filled in as (escaped) text.
 */
export function compileBodyTemplate(template: unknown): CompiledTemplate {
  const json = JSON.stringify(template ?? DEFAULT_BODY_TEMPLATE);
  if (json === undefined) throw new TypeError('the body template is not JSON');
  const parts: (string | Slot)[] = [];
  // A whole-value "{payload}" (not an object key, which would be followed by a colon).
  const WHOLE = /"\{payload\}"(?!:)/g;
  let last = 0;
  for (const m of json.matchAll(WHOLE)) {
    parts.push(...splitText(json.slice(last, m.index), 'json-string'));
    parts.push({ name: 'payload', as: 'json-value' });
    last = m.index + m[0].length;
  }
  parts.push(...splitText(json.slice(last), 'json-string'));
  return compileParts(parts);
}
