// pyledger's hash as an auditchaos hash module (docs/recipes.md, "Module recipes"): the same as
// the template recipe in scenarios/*.yml, for teams whose hash no template can say.
//   digest = SHA-256(parent || "n|uid|who|verb|body")   over the stored text; parent of n=1: 32 zero bytes
import { createHash } from 'node:crypto';

export function hash(_prevHash, _entry, stored) {
  const f = stored.fields; // every mapped field as stored, as text
  return createHash('sha256')
    .update(stored.prevBytes) // bytea parent, as bytes
    .update(`${f.seq}|${f.eventId}|${f.actor}|${f.action}|${f.payload}`)
    .digest();
}
