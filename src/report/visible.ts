/**
 * Text that came from a log (event ids, messages, payload excerpts, error strings) is shown with
 * its control characters escaped (`\u001b`), so that an entry cannot hide or rewrite the lines
 * after it on a terminal or in a markdown viewer. The one helper for every place that prints it.
 */
// C0 controls, DEL, C1 controls, and the Unicode bidi overrides/isolates that reorder a line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const codePoint = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One field: every control character escaped, newlines included. */
export function visible(s: string): string {
  return s.replace(CONTROL, codePoint);
}

/** A whole rendered document (markdown): its own line breaks kept, every other control escaped. */
export function visibleLines(s: string): string {
  return s.replace(CONTROL_BUT_NEWLINE, codePoint);
}
