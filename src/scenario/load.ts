/**
 * Scenario text -> Scenario, or every problem at once with file:line:col. Pure: the caller reads
 * the file. Positions come from the YAML parser's source ranges; zod issue paths are mapped back.
 */
import { isMap, isScalar, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import type { z } from 'zod';
import { ScenarioError, type ScenarioProblem } from '../errors.ts';
import { crossFieldProblems, type Scenario, scenarioSchema } from './schema.ts';

type Path = readonly PropertyKey[];

/** A scenario is a page of YAML; these bound what a hostile or broken file can cost. */
export const SCENARIO_LIMITS = { bytes: 1_000_000, aliases: 100, depth: 64 } as const;

export function parseScenario(text: string, file: string): Scenario {
  const lineCounter = new LineCounter();
  const whole = (message: string) => new ScenarioError([{ file, line: 1, col: 1, message }]);
  if (Buffer.byteLength(text, 'utf8') > SCENARIO_LIMITS.bytes) {
    throw whole(
      `the file is ${Buffer.byteLength(text, 'utf8')} bytes; a scenario may have at most ${SCENARIO_LIMITS.bytes}`,
    );
  }
  const tooDeep = nestingOver(text, SCENARIO_LIMITS.depth);
  if (tooDeep !== undefined) {
    const before = text.slice(0, tooDeep.offset);
    const line = before.split('\n').length;
    const col = tooDeep.offset - before.lastIndexOf('\n');
    throw new ScenarioError([{ file, line, col, message: tooDeep.message }]);
  }
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    if (e instanceof RangeError) throw whole(`YAML: the document is too deeply nested (${e.message})`);
    throw e;
  }
  const at = (offset: number) => lineCounter.linePos(offset);
  const problems: ScenarioProblem[] = [];

  for (const e of doc.errors) {
    const { line, col } = at(e.pos[0]);
    problems.push({ file, line, col, message: `YAML: ${firstLine(e.message)}` });
  }
  if (problems.length > 0) throw new ScenarioError(problems);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: SCENARIO_LIMITS.aliases }) as unknown;
  } catch (e) {
    // yaml throws a ReferenceError for an alias bomb ("Excessive alias count")
    const message = e instanceof Error ? e.message : String(e);
    if (/alias/i.test(message))
      throw whole(`YAML: ${firstLine(message)} (at most ${SCENARIO_LIMITS.aliases} alias expansions)`);
    if (e instanceof RangeError) throw whole(`YAML: the document is too deeply nested (${message})`);
    throw e;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ScenarioError([
      { file, line: 1, col: 1, message: 'a scenario is a YAML mapping (version, name, workload, ...)' },
    ]);
  }
  const result = scenarioSchema.safeParse(data, { reportInput: true });
  for (const p of crossFieldProblems(data)) {
    const { node } = nearestNode(doc, p.path);
    problems.push({ file, ...at(nodeOffset(node) ?? 0), message: `${formatPath(p.path)}: ${p.message}` });
  }
  if (result.success && problems.length === 0) return result.data;

  for (const issue of result.success ? [] : flattenIssues(result.error.issues)) {
    const path = issue.path as Path;
    if (issue.code === 'unrecognized_keys') {
      const parent = doc.getIn(path, true) as Node | undefined;
      const allowed = allowedKeysAt(path, data);
      for (const key of issue.keys) {
        const keyNode = isMap(parent) ? findKeyNode(parent, key) : undefined;
        const pos = at(keyNode?.range?.[0] ?? nodeOffset(parent) ?? 0);
        const close = closest(key, allowed);
        problems.push({
          file,
          ...pos,
          message:
            `unknown key "${key}"${path.length ? ` in ${formatPath(path)}` : ''}` +
            (close ? `; did you mean "${close}"?` : allowed.length ? `; allowed: ${allowed.join(', ')}` : ''),
        });
      }
      continue;
    }
    const { node, missingKey } = nearestNode(doc, path);
    const pos = at(nodeOffset(node) ?? 0);
    problems.push({ file, ...pos, message: describeIssue(issue, path, missingKey) });
  }
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  throw new ScenarioError(dedupe(problems));
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** A discriminated union that matched on its tag reports the inner issues; keep the leaves. */
function flattenIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const i of issues) {
    if (i.code === 'invalid_union' && i.errors.length > 0) {
      // A plain union (e.g. duration string|0): report it once, as its first branch says.
      const first = i.errors[0];
      if (first && first.length > 0) {
        out.push(...flattenIssues(first.map((e) => ({ ...e, path: [...i.path, ...e.path] }))));
        continue;
      }
    }
    out.push(i);
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, path: Path, missingKey: PropertyKey | undefined): string {
  const where = formatPath(path);
  if (missingKey !== undefined && issue.code === 'invalid_type' && issue.input === undefined) {
    const parent = formatPath(path.slice(0, path.indexOf(missingKey)));
    return `${parent}: required key "${String(missingKey)}" is missing`;
  }
  switch (issue.code) {
    case 'invalid_value':
      return `${where}: ${quote(issue.input)} is not allowed; allowed: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        const opts = (issue as { options?: unknown[] }).options ?? [];
        return `${where}: unknown ${String(issue.discriminator)}; allowed: ${opts.map((o) => JSON.stringify(o)).join(', ')}`;
      }
      return `${where}: ${issue.message}`;
    case 'invalid_type':
      return `${where}: expected ${issue.expected}, found ${describeValue(issue.input)}`;
    case 'too_small':
    case 'too_big':
      return `${where}: ${issue.message.replace(/^Too (small|big): /, '')}`;
    default:
      return `${where}: ${issue.message}`;
  }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function quote(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

export function formatPath(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s || '(top level)';
}

function findKeyNode(map: YAMLMap, key: string): Node | undefined {
  for (const pair of map.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key) return pair.key;
  }
  return undefined;
}

function nodeOffset(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  return range?.[0];
}

/** The node at `path`, or its nearest ancestor that exists (a missing key points at its parent). */
function nearestNode(
  doc: ReturnType<typeof parseDocument>,
  path: Path,
): { node: unknown; missingKey: PropertyKey | undefined } {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (node !== undefined && node !== null) {
      return { node, missingKey: n < path.length ? path[n] : undefined };
    }
  }
  return { node: doc.contents, missingKey: undefined };
}

/** The keys the schema allows at `path`, walking zod's definitions (discriminated unions by their tag). */
function allowedKeysAt(path: Path, data: unknown): string[] {
  let schema: unknown = scenarioSchema;
  let value: unknown = data;
  const step = (s: unknown): unknown => {
    const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return s;
    if (
      def.type === 'optional' ||
      def.type === 'default' ||
      def.type === 'prefault' ||
      def.type === 'nullable'
    )
      return step(def.innerType);
    if (def.type === 'pipe') return step(def.in);
    return s;
  };
  const objectShape = (s: unknown, v: unknown): Record<string, unknown> | undefined => {
    const def = (step(s) as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === 'object') return def.shape as Record<string, unknown>;
    if (def.type === 'union') {
      const disc = def.discriminator as string | undefined;
      for (const opt of def.options as unknown[]) {
        const shape = objectShape(opt, v);
        if (!shape) continue;
        if (!disc) return shape;
        const tag = (shape[disc] as { _zod: { def: { values?: unknown[] } } })._zod.def.values?.[0];
        if (v && typeof v === 'object' && (v as Record<string, unknown>)[disc] === tag) return shape;
      }
    }
    return undefined;
  };
  for (const key of path) {
    schema = step(schema);
    const def = (schema as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (typeof key === 'number' && def.type === 'array') {
      schema = def.element;
    } else {
      const shape = objectShape(schema, value);
      schema = shape?.[String(key)];
    }
    value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
    if (!schema) return [];
  }
  const shape = objectShape(schema, value);
  return shape ? Object.keys(shape).filter((k) => k !== '$schema') : [];
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min(tmp + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}

function dedupe(problems: ScenarioProblem[]): ScenarioProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.line}:${p.col}:${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The offset where flow brackets or block indentation first pass `max` levels, else undefined.
 * Checked on the text, before the recursive YAML composer and zod could overflow the stack.
 */
function nestingOver(text: string, max: number): { offset: number; message: string } | undefined {
  let flow = 0;
  let quote: string | undefined;
  let lineStart = true;
  let indent = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      lineStart = true;
      indent = 0;
      quote = flow > 0 ? quote : undefined;
      continue;
    }
    if (lineStart) {
      if (c === ' ' || c === '-') {
        indent++;
        continue;
      }
      lineStart = false;
      // two columns per level is the usual block style; a generous bound on block nesting
      if (indent > max * 4)
        return {
          offset: i,
          message: `indentation is deeper than ${max * 4} columns (${max} levels of nesting)`,
        };
    }
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      i = nl - 1;
    } else if (c === '[' || c === '{') {
      flow++;
      if (flow > max) return { offset: i, message: `nesting is deeper than ${max} levels` };
    } else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
  }
  return undefined;
}
