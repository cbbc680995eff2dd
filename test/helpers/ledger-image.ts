import { execa } from 'execa';
import { REPO_ROOT } from './cli.ts';

/**
 * Builds the image of `ledger`, the service of test/docker/fixtures/ledger-store.yml (the reference
 * service's image under a tag of the test's own, on the offline Node image when one is named).
 */
export async function buildLedgerImage(tag: string): Promise<void> {
  const node = process.env.AUDITCHAOS_NODE_IMAGE || 'node:20.18.1-bookworm-slim';
  await execa(
    'docker',
    ['build', '-q', '--build-arg', `NODE_IMAGE=${node}`, '-f', 'compose/auditlog/Dockerfile', '-t', tag, '.'],
    { cwd: REPO_ROOT, timeout: 300_000 },
  );
}
