import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.ts';
import { payloadDigest } from '../../../src/scan/reference-chain.ts';
import { FLAW_MODES } from '../../../src/scenario/vocabulary.ts';
import { parseNewEvent } from '../../../src/service/http.ts';
import {
  CheckpointSigner,
  FLAW_DESCRIPTIONS,
  parseFlaws,
  redactUrl,
  verifyCheckpoint,
} from '../../../src/service/index.ts';
import { truncatePayload } from '../../../src/service/store.ts';

describe('parseFlaws', () => {
  it('reads a comma list, ignoring spaces, empties and repeats', () => {
    expect(parseFlaws(undefined)).toEqual([]);
    expect(parseFlaws('')).toEqual([]);
    expect(parseFlaws(' mutable , api-delete,,mutable')).toEqual(['mutable', 'api-delete']);
  });
  it('names the unknown flaw and lists the known ones', () => {
    expect(() => parseFlaws('mutable,typo')).toThrow(UsageError);
    expect(() => parseFlaws('typo')).toThrow(/unknown flaw mode "typo"/);
  });
  it('describes every flaw mode of the vocabulary', () => {
    for (const f of FLAW_MODES) expect(FLAW_DESCRIPTIONS[f].length).toBeGreaterThan(30);
  });
});

describe('parseNewEvent', () => {
  const ok = { event_id: 'e1', actor: 'a', action: 'login', payload: { x: 1 } };
  it('accepts a full event and ignores unknown keys', () => {
    expect(parseNewEvent({ ...ok, extra: true })).toEqual({
      eventId: 'e1',
      actor: 'a',
      action: 'login',
      payload: { x: 1 },
    });
    expect(parseNewEvent({ ...ok, payload: null })).toMatchObject({ payload: null });
  });
  it.each([
    [null, /JSON object/],
    [[], /JSON object/],
    [{ ...ok, event_id: '' }, /event_id/],
    [{ ...ok, actor: 3 }, /actor/],
    [{ ...ok, action: ' ' }, /action/],
    [{ ...ok, event_id: 'x'.repeat(513) }, /longer/],
    [{ ...ok, actor: 'a\u0000' }, /NUL/],
    [{ event_id: 'e', actor: 'a', action: 'b' }, /payload/],
  ])('refuses %j', (body, reason) => {
    expect(parseNewEvent(body)).toMatch(reason);
  });
});

describe('truncatePayload', () => {
  it('keeps a payload that fits, cuts one that does not (the digest then differs)', () => {
    const small = { a: 1 };
    expect(truncatePayload(small, 128)).toBe(small);
    const big = { text: 'z'.repeat(500) };
    const cut = truncatePayload(big, 128) as string;
    expect(typeof cut).toBe('string');
    expect(Buffer.byteLength(cut)).toBe(128);
    expect(payloadDigest(cut)).not.toBe(payloadDigest(big));
  });
  it('cuts on a character boundary', () => {
    const cut = truncatePayload({ t: 'é'.repeat(100) }, 11) as string;
    expect(cut).toBe('{"t":"éé'); // 6 + 2 + 2 bytes; half a third é is dropped
  });
});

describe('redactUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl('postgres://user:s3cret@db:5432/app')).toBe('postgres://user:***@db:5432/app');
    expect(redactUrl('postgres://user@db/app')).toBe('postgres://user@db/app');
    expect(redactUrl('not a url user:pw@x')).not.toContain('s3cret');
  });
});

describe('CheckpointSigner', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const tmp = async () => {
    const d = await mkdtemp(path.join(tmpdir(), 'auditchaos-signer-'));
    dirs.push(d);
    return d;
  };

  it('signs jcs({seq, hash, ts}) so that a verifier accepts it and rejects any change', () => {
    const signer = CheckpointSigner.ephemeral();
    const cp = signer.sign({ seq: 3, hash: 'ab'.repeat(32), ts: '2026-01-01T00:00:00.123456Z' });
    expect(verifyCheckpoint(cp, signer.publicKeyPem)).toBe(true);
    expect(verifyCheckpoint({ ...cp, seq: 4 }, signer.publicKeyPem)).toBe(false);
    expect(verifyCheckpoint({ ...cp, ts: '2026-01-01T00:00:00.123457Z' }, signer.publicKeyPem)).toBe(false);
    expect(verifyCheckpoint(cp, CheckpointSigner.ephemeral().publicKeyPem)).toBe(false);
  });

  it('creates the key file (0600, PKCS8) when absent and reuses it', async () => {
    const file = path.join(await tmp(), 'sub', 'key.pem');
    const a = await CheckpointSigner.fromFile(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
    const b = await CheckpointSigner.fromFile(file);
    expect(b.publicKeyPem).toBe(a.publicKeyPem);
  });

  it('refuses a file that is not an Ed25519 private key', async () => {
    const file = path.join(await tmp(), 'bad.pem');
    await writeFile(file, 'not a key');
    await expect(CheckpointSigner.fromFile(file)).rejects.toThrow(/not a PEM private key/);
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    await writeFile(file, rsa);
    await expect(CheckpointSigner.fromFile(file)).rejects.toThrow(/rsa key, not an Ed25519/);
  });
});
