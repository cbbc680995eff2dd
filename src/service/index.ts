/** The reference audit-log service: what the local runtime, the CLI and the tests call. */

export { redactUrl } from '../redact-url.ts';
export { FLAW_DESCRIPTIONS, type FlawMode, parseFlaws, TRUNCATE_PAYLOAD_BYTES } from './flaws.ts';
export {
  DEFAULT_OWNER_PASSWORD,
  DEFAULT_WRITER_PASSWORD,
  type MigrateOptions,
  migrate,
  OWNER_ROLE,
  TABLE,
  WRITER_ROLE,
} from './migrate.ts';
export { type RunningService, type ServiceOptions, startService } from './service.ts';
export { CheckpointSigner, type SignedCheckpoint, verifyCheckpoint } from './signing.ts';
export type { StoredEntry } from './store.ts';
