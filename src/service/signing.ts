/**
 * The checkpoint signer: an Ed25519 key read from a PEM (PKCS8) file, created there when the file
 * does not exist, or ephemeral. Signature = base64 Ed25519 over the UTF-8 bytes of jcs({seq, hash, ts}).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { jcs } from '../scan/reference-chain.ts';

export interface CheckpointBody {
  seq: number;
  hash: string;
  ts: string;
}

export interface SignedCheckpoint extends CheckpointBody {
  signature: string;
}

export class CheckpointSigner {
  readonly publicKeyPem: string;
  private constructor(private readonly key: KeyObject) {
    this.publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  }

  static ephemeral(): CheckpointSigner {
    return new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
  }

  /** Reads the key at `file`, or generates one and writes it there (mode 0600) when it is absent. */
  static async fromFile(file: string): Promise<CheckpointSigner> {
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new UsageError(`cannot read the signing key ${file}`, { cause: e });
      }
      const key = generateKeyPairSync('ed25519').privateKey;
      pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
      await mkdir(path.dirname(file), { recursive: true });
      try {
        await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        // Another replica wrote it first: use theirs, so that both sign with one key.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new UsageError(`cannot write the signing key ${file}`, { cause: err });
        }
        pem = await readFile(file, 'utf8');
      }
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (e) {
      throw new UsageError(`${file} is not a PEM private key`, {
        hint: 'give a PKCS8 PEM Ed25519 key, or a path that does not exist yet to have one generated',
        cause: e,
      });
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new UsageError(`${file} holds a ${key.asymmetricKeyType} key, not an Ed25519 one`, {
        hint: 'generate one with `openssl genpkey -algorithm ed25519`',
      });
    }
    return new CheckpointSigner(key);
  }

  sign(body: CheckpointBody): SignedCheckpoint {
    const msg = Buffer.from(jcs({ seq: body.seq, hash: body.hash, ts: body.ts }), 'utf8');
    return {
      seq: body.seq,
      hash: body.hash,
      ts: body.ts,
      signature: sign(null, msg, this.key).toString('base64'),
    };
  }
}

/** True when `cp.signature` is a valid Ed25519 signature of jcs({seq, hash, ts}) under `publicKeyPem`. */
export function verifyCheckpoint(cp: SignedCheckpoint, publicKeyPem: string): boolean {
  const msg = Buffer.from(jcs({ seq: cp.seq, hash: cp.hash, ts: cp.ts }), 'utf8');
  return verify(null, msg, createPublicKey(publicKeyPem), Buffer.from(cp.signature, 'base64'));
}
