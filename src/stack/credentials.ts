/** Passwords a runtime makes for the stack it starts: random, URL-safe, redacted from reports. */
import { randomBytes } from 'node:crypto';

export function newPassword(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('base64url')}`;
}
