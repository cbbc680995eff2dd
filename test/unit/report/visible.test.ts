/**
 * Issue 13, case 4: control characters from log content are rendered visibly (`\u001b`) in the
 * terminal (scan, through the binary) and in markdown, so that an event id of "\u001b[8m" cannot
 * hide the verdict line.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../../src/report/markdown.ts';
import { describeEvent } from '../../../src/report/terminal/describe.ts';
import { visible, visibleLines } from '../../../src/report/visible.ts';
import { referenceEntries, writeJsonl } from '../../../src/scan/generate.ts';
import { runCli } from '../../helpers/cli.ts';
import { fixtureReport } from '../../helpers/report-fixture.ts';

const ESC = '\u001b';

describe('visible text from logs (issue 13)', () => {
  it('visible: ESC, CR, NUL, DEL, C1, bidi override and newline are escaped; plain text unchanged', () => {
    expect(visible(`${ESC}[8m`)).toBe('\\u001b[8m');
    expect(visible('a\rb\u0000c\u007fd\u009be\u202ef\ng')).toBe(
      'a\\u000db\\u0000c\\u007fd\\u009be\\u202ef\\u000ag',
    );
    expect(visible('ordinary text, é 😀')).toBe('ordinary text, é 😀');
    expect(visibleLines(`line1\nline2${ESC}[2K`)).toBe('line1\nline2\\u001b[2K');
  });

  it('markdown report: an event id and message with ESC sequences show as \\u001b', () => {
    const r = fixtureReport();
    (r.findings[0] as { message: string }).message = `hidden ${ESC}[8m`;
    (r.findings[0] as { eventId?: string }).eventId = `${ESC}[8m`;
    const md = renderMarkdown(r);
    expect(md).not.toContain(ESC);
    expect(md).toContain('\\u001b[8m');
  });

  it('scan through the binary: an event id of "\\u001b[8m" is printed as \\u001b[8m, the verdict line stays visible', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-visible-'));
    const file = path.join(dir, 'log.jsonl');
    const entries = [...referenceEntries({ count: 5, payloadBytes: 8 })];
    entries[2] = { ...entries[2]!, eventId: `${ESC}[8m` }; // breaks the chain: a finding naming it
    await writeJsonl(file, entries);
    const r = await runCli(['scan', file]);
    expect(r.stdout).not.toContain(ESC);
    expect(r.stdout).toContain('\\u001b[8m');
    expect(r.stdout).toMatch(/verdict: FAIL/);
  });

  it('terminal run events: a finding with ESC in message and event id is escaped', () => {
    const line = describeEvent(
      {
        type: 'finding',
        finding: {
          kind: 'broken-chain',
          severity: 'violation',
          message: `m${ESC}[8m`,
          eventId: `${ESC}]0;x`,
        },
      } as never,
      new Chalk({ level: 0 }),
    );
    expect(line).not.toContain(ESC);
    expect(line).toContain('\\u001b');
  });
});
