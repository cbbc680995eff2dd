/**
 * Canonical JSON exactness (issue 11): every canonicalization path of the scanner against the npm
 * `canonicalize` package on a seeded corpus of tricky documents; `__proto__` members survive every
 * path; duplicate member names and lone surrogates in stored text are `partial` findings with the
 * reason, on JSONL (fast and general path), in worker blocks, and on HTTP pages.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import canonicalizeModule from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonlBlock } from '../../../src/scan/block-work.ts';
import { fastEntryBody, fastJcs, jcsFast } from '../../../src/scan/fast-jcs.ts';
import { canonicalBodyOf, newReferenceLine, parseReferenceLine } from '../../../src/scan/fast-line.ts';
import { eventIdFor, tsFor } from '../../../src/scan/generate.ts';
import { referenceRecipe, settingsRecipe } from '../../../src/scan/recipe.ts';
import { GENESIS_PREV_HASH } from '../../../src/scan/reference-chain.ts';
import { scanLog } from '../../../src/scan/scan.ts';
import { httpSource } from '../../../src/scan/sources/http.ts';
import { jsonlSource } from '../../../src/scan/sources/jsonl.ts';
import { jsonTextIssue, pageItemSpans } from '../../../src/scan/strict-json.ts';
import type { Finding, LedgerOp } from '../../../src/scan/types.ts';
import { rng, trickyPayloadTexts, trickyString } from './corpus.ts';

// The oracle: the npm package, not our reference-chain.ts wrapper.
const canonicalize = ((canonicalizeModule as unknown as { default?: unknown }).default ??
  canonicalizeModule) as (value: unknown) => string | undefined;
const oracle = (v: unknown): string => {
  const s = canonicalize(v);
  if (s === undefined) throw new Error('not canonicalizable');
  return s;
};
const sha = (prevHex: string, body: string, alg = 'sha256') =>
  createHash(alg).update(Buffer.from(prevHex, 'hex')).update(body).digest('hex');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-jcs-exact-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Written {
  lines: string[];
  payloadTexts: string[];
  ops: LedgerOp[];
}

/**
 * A chain as an exact writer makes it: hash = SHA-256(prev || canonicalize(body)) over the parsed
 * stored text. Each line stores its payload text either as generated (whitespace, escapes, key
 * order) or canonicalized (so the fast path takes the ASCII ones), top-level keys in either order.
 */
function writeChain(payloadTexts: string[], seed: number, asWritten = false): Written {
  const r = rng(seed);
  let prev = GENESIS_PREV_HASH;
  const lines: string[] = [];
  const ops: LedgerOp[] = [];
  payloadTexts.forEach((text, i) => {
    const seq = i + 1;
    const payload: unknown = JSON.parse(text);
    const f = {
      seq,
      event_id: eventIdFor(seq),
      ts: tsFor(Date.UTC(2026, 0, 1), i),
      actor: r() < 0.3 ? trickyString(r) : `user-${seq}`,
      action: 'edit',
    };
    const hash = sha(prev, oracle({ ...f, payload }));
    const stored = asWritten || r() < 0.5 ? text : oracle(payload);
    const head = `"seq":${seq},"event_id":${JSON.stringify(f.event_id)},"ts":"${f.ts}","actor":${JSON.stringify(f.actor)},"action":"edit"`;
    lines.push(
      r() < 0.5
        ? `{"action":"edit","actor":${JSON.stringify(f.actor)},"event_id":${JSON.stringify(f.event_id)},"payload":${stored},"seq":${seq},"ts":"${f.ts}","prev_hash":"${prev}","hash":"${hash}"}`
        : `{${head},"payload":${stored},"prev_hash":"${prev}","hash":"${hash}"}`,
    );
    ops.push({
      eventId: f.event_id,
      outcome: 'ok',
      payloadDigest: createHash('sha256').update(oracle(payload)).digest('hex'),
      invokedAt: i,
      completedAt: i + 1,
      attempts: 1,
    });
    prev = hash;
  });
  return { lines, payloadTexts, ops };
}

describe('canonical JSON against the canonicalize package (seeded corpus)', () => {
  const texts = trickyPayloadTexts({ seed: 11, count: 600, loneSurrogates: true, newlines: true });

  it('the corpus is tricky: it holds every kind of awkward member and number', () => {
    const all = texts.join('\n');
    for (const needle of ['"__proto__"', '"constructor"', '"10"', '5e-324', '1e21', '-0', '9007199254740993'])
      expect(all).toContain(needle);
    expect(texts.some((t) => /\\u[dD][89aAbB]/.test(t))).toBe(true);
    expect(texts.some((t) => t.includes('😀'))).toBe(true);
  });

  it('fastJcs, jcsFast, fastEntryBody, the reference and settings recipes give its bytes', () => {
    const ref = referenceRecipe();
    const sha512 = settingsRecipe({ algorithm: 'sha512', fields: ['payload', 'seq', 'actor'] });
    for (const [i, text] of texts.entries()) {
      const v: unknown = JSON.parse(text);
      const want = oracle(v);
      expect(fastJcs(v), text).toBe(want);
      expect(jcsFast(v), text).toBe(want);
      const e = {
        seq: i + 1,
        eventId: `id-${i}`,
        ts: '2026-01-01T00:00:00.000000Z',
        actor: trickyString(rng(i)),
        action: 'a',
        payload: v,
        prevHash: GENESIS_PREV_HASH,
        hash: '',
      };
      const body = {
        seq: e.seq,
        event_id: e.eventId,
        ts: e.ts,
        actor: e.actor,
        action: e.action,
        payload: v,
      };
      expect(fastEntryBody(e), text).toBe(oracle(body));
      expect(ref.hash(e.prevHash, e)).toBe(sha(e.prevHash, oracle(body)));
      expect(sha512.hash('00'.repeat(64), e)).toBe(
        sha('00'.repeat(64), oracle({ payload: v, seq: e.seq, actor: e.actor }), 'sha512'),
      );
    }
  });

  it('the canonical-line fast path cuts exactly the canonical body wherever it accepts a line', () => {
    const { lines } = writeChain(trickyPayloadTexts({ seed: 12, count: 400 }), 12);
    const ref = newReferenceLine();
    let accepted = 0;
    for (const line of lines) {
      if (!parseReferenceLine(line, 0, line.length, ref)) continue;
      accepted++;
      const rec = JSON.parse(line) as Record<string, unknown>;
      const { prev_hash: _p, hash: _h, ...body } = rec;
      expect(canonicalBodyOf(line, 0, ref)).toBe(oracle(body));
    }
    expect(accepted).toBeGreaterThan(40); // the ASCII canonical lines
    expect(accepted).toBeLessThan(lines.length);
  });

  it('a chain written over the corpus scans clean on the fast, the general and the worker-block path, digests included', async () => {
    const w = writeChain(trickyPayloadTexts({ seed: 13, count: 500 }), 13);
    const file = path.join(dir, 'tricky.jsonl');
    await writeFile(file, `${w.lines.join('\n')}\n`);
    for (const fastPath of [true, false]) {
      for (const chunkBytes of [1 << 19, 777]) {
        const r = await scanLog({
          source: await jsonlSource(file, { fastPath, chunkBytes, workers: 0 }),
          ledger: w.ops,
        });
        expect(r.findings, `fastPath ${fastPath}`).toEqual([]);
        expect(r.entries).toBe(500);
        expect(r.verdict.status).toBe('pass');
      }
    }
    // what a worker computes for a block: the same hashes as the writer's
    const block = jsonlBlock(`${w.lines.join('\n')}\n`);
    const hashes = JSON.parse(block.hashes) as (string | null)[];
    expect(hashes).toEqual(w.lines.map((l) => (JSON.parse(l) as { hash: string }).hash));
  });
});

describe('"__proto__" members', () => {
  const payloadText = '{"b":1,"__proto__":2}';

  it('survive every canonicalization path', () => {
    const v: unknown = JSON.parse(payloadText);
    expect(oracle(v)).toBe('{"__proto__":2,"b":1}');
    expect(jcsFast(v)).toBe('{"__proto__":2,"b":1}');
    expect(fastJcs(v)).toBe('{"__proto__":2,"b":1}');
    const nested: unknown = JSON.parse(
      '{"z":{"y":0,"__proto__":{"x":1,"__proto__":[]}},"a":[{"__proto__":null}]}',
    );
    expect(jcsFast(nested)).toBe(oracle(nested));
    const e = { seq: 1, eventId: 'e', ts: 't', actor: 'a', action: 'x', payload: v, prevHash: '', hash: '' };
    expect(fastEntryBody(e)).toBe(
      oracle({ seq: 1, event_id: 'e', ts: 't', actor: 'a', action: 'x', payload: v }),
    );
  });

  it('payloads holding them verify clean from JSONL (fast and general path) and HTTP, digests included', async () => {
    const w = writeChain(
      [payloadText, '{"__proto__":{"b":1,"a":2}}', '{"x":[{"__proto__":1}]}', payloadText],
      5,
    );
    const file = path.join(dir, 'proto.jsonl');
    await writeFile(file, `${w.lines.join('\n')}\n`);
    for (const fastPath of [true, false]) {
      const r = await scanLog({ source: await jsonlSource(file, { fastPath, workers: 0 }), ledger: w.ops });
      expect(r.findings).toEqual([]);
      expect(r.verdict.status).toBe('pass');
    }
    const r = await scanLog({ source: httpOf(w.lines), ledger: w.ops });
    expect(r.findings).toEqual([]);
    expect(r.entries).toBe(4);
  });
});

/** An HTTP source over a fake fetch serving the lines as pages of 2 (by the `after` cursor). */
function httpOf(lines: string[], wrap = false) {
  const fetch = (async (u: URL | string) => {
    const url = new URL(String(u));
    const after = Number(url.searchParams.get('after'));
    const page = lines.filter((l) => (JSON.parse(l) as { seq: number }).seq > after).slice(0, 2);
    const body = wrap ? `{"next":null,"events":[${page.join(',\n')}]}` : `[${page.join(', ')}]`;
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return httpSource({ url: 'http://127.0.0.1:9/events', fetch });
}

describe('duplicate member names and lone surrogates are partial findings', () => {
  // The writer hashed what JSON.parse makes of the stored text (the last duplicate): the chain is
  // intact, so only the partial check can tell.
  const texts = [
    '{"a":1}',
    '{"amount":1000000,"amount":5}',
    '{"note":"lone \\ud800 here"}',
    '{"a":1,"\\u0061":2}',
    '{"ok":true,"list":[{"k":1,"k":1}]}',
    '{"low":"\\udc00"}',
    '{"pair":"\\ud83d\\ude00 is fine","raw":"😀"}',
    '{"b":1}',
  ];
  const expected = [
    'partial@2 duplicate-member amount',
    'partial@3 lone-surrogate',
    'partial@4 duplicate-member a',
    'partial@5 duplicate-member k',
    'partial@6 lone-surrogate',
  ];
  const view = (fs: Finding[]) =>
    fs.map((f) =>
      [`${f.kind}@${f.seq}`, f.detail?.reason, f.detail?.member].filter((x) => x !== undefined).join(' '),
    );

  it('strict-json finds them in raw text, and only them', () => {
    expect(texts.map((t) => jsonTextIssue(t)?.reason ?? '-')).toEqual([
      '-',
      'duplicate-member',
      'lone-surrogate',
      'duplicate-member',
      'duplicate-member',
      'lone-surrogate',
      '-',
      '-',
    ]);
    expect(jsonTextIssue('["a","a",{"a":{"a":1},"b":{"a":2}}]')).toBeUndefined();
    expect(jsonTextIssue('{"x":"\\\\ud800"}')).toBeUndefined(); // an escaped backslash, then text
    expect(jsonTextIssue('{"mixed":"\\ud83d\ude00"}')).toBeUndefined(); // escaped high, raw low
    expect(jsonTextIssue('{"mixed":"\ud83d\\ude00"}')).toBeUndefined(); // raw high, escaped low
    expect(jsonTextIssue('{"raw":"\ud83d"}')?.reason).toBe('lone-surrogate');
    expect(
      jsonTextIssue('{"k1":1,"k2":1,"k3":1,"k4":1,"k5":1,"k6":1,"k7":1,"k8":1,"k9":1,"k1":2}')?.member,
    ).toBe('k1');
    expect(
      pageItemSpans('{"events": [ {"a":1} , [2] ,"x"], "n": 1}', ['events'])!.map(([s, e]) =>
        '{"events": [ {"a":1} , [2] ,"x"], "n": 1}'.slice(s, e),
      ),
    ).toEqual(['{"a":1}', '[2]', '"x"']);
  });

  it('JSONL, fast and general path, and worker blocks: partial with the reason, the chain intact', async () => {
    const w = writeChain(texts, 7, true);
    // also a duplicate at the top of a line (a second "actor" the reader never sees)
    w.lines[7] = w.lines[7]!.replace('"actor":', '"actor":"hidden","actor":');
    const file = path.join(dir, 'dups.jsonl');
    await writeFile(file, `${w.lines.join('\n')}\n`);
    for (const fastPath of [true, false]) {
      const r = await scanLog({ source: await jsonlSource(file, { fastPath, workers: 0 }) });
      expect(view(r.findings)).toEqual([...expected, 'partial@8 duplicate-member actor']);
      expect(r.findings[0]!.message).toContain('"amount" twice');
      expect(r.findings[1]!.message).toContain('lone surrogate');
      expect(r.counts['broken-chain']).toBe(0);
      expect(r.verdict.status).toBe('fail');
    }
  });

  it('HTTP pages (bare arrays and {events: [...]}): the item with the issue, not its page', async () => {
    const w = writeChain(texts, 8, true);
    for (const wrap of [false, true]) {
      const r = await scanLog({ source: httpOf(w.lines, wrap) });
      expect(view(r.findings)).toEqual(expected);
      expect(r.entries).toBe(texts.length);
    }
  });

  it('HTTP: a page whose wrapper names its items twice cannot be read (unknown, never pass)', async () => {
    const fetch = (async () =>
      new Response('{"events":[],"events":[{"seq":1}]}', { status: 200 })) as typeof globalThis.fetch;
    const r = await scanLog({ source: httpSource({ url: 'http://127.0.0.1:9/events', fetch }) });
    expect(r.readError).toContain('not I-JSON');
    expect(r.verdict.status).toBe('unknown');
  });
});
