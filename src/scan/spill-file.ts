/**
 * A SpillStore for the duplicate check that keeps sorted fingerprint runs in temporary files
 * (created on the first spill, removed by dispose()), so that scanning a log of any length keeps
 * the check's memory at its fixed table size.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SpillStore } from './checks/duplicate.ts';

const CHUNK_VALUES = 1 << 16;

export function fileSpillStore(baseDir = tmpdir()): SpillStore & { dispose(): void } {
  let dir: string | undefined;
  const files: string[] = [];
  return {
    get runs() {
      return files.length;
    },
    write(run) {
      dir ??= mkdtempSync(path.join(baseDir, 'auditchaos-scan-spill-'));
      const file = path.join(dir, `run-${files.length}.bin`);
      writeFileSync(file, new Uint8Array(run.buffer, run.byteOffset, run.byteLength));
      files.push(file);
    },
    *read(index) {
      const file = files[index];
      if (file === undefined) return;
      const fd = openSync(file, 'r');
      try {
        for (;;) {
          const chunk = new BigUint64Array(CHUNK_VALUES);
          const bytes = readSync(fd, new Uint8Array(chunk.buffer), 0, chunk.byteLength, null);
          if (bytes === 0) return;
          yield bytes === chunk.byteLength ? chunk : chunk.subarray(0, bytes / 8);
        }
      } finally {
        closeSync(fd);
      }
    },
    dispose() {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
      files.length = 0;
    },
  };
}
