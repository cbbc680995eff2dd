/**
 * report.html renders in a real headless Chromium (Debian's chromium package): desktop, phone
 * and print. Skipped only when no browser is installed and AUDITCHAOS_REQUIRE_BROWSER is unset;
 * CI sets it, so there a missing browser fails the test.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, pngSize, printToPdf, screenshotHtml } from '../../scripts/screenshot.ts';
import { writeReport } from '../../src/report/write.ts';
import { externalResourceRefs } from '../helpers/html-resources.ts';
import { fixtureReport } from '../helpers/report-fixture.ts';

const chromium = findChromium();
const required = process.env.AUDITCHAOS_REQUIRE_BROWSER === '1';

describe.skipIf(!chromium && !required)('report.html in headless Chromium', () => {
  let dir: string;
  let html: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-report-html-'));
    await writeReport(dir, fixtureReport());
    html = path.join(dir, 'report.html');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('a browser is installed (apt-get install -y chromium)', () => {
    expect(chromium, 'no Chromium binary found, and AUDITCHAOS_REQUIRE_BROWSER=1').toBeDefined();
  });

  it('is self-contained', async () => {
    expect(externalResourceRefs(await readFile(html, 'utf8'))).toEqual([]);
  });

  it.each([
    ['desktop', 1280, 2000],
    ['phone', 390, 1600],
  ])('renders on a %s screen (screenshot)', async (name, width, height) => {
    const png = path.join(dir, `${name}.png`);
    await screenshotHtml(html, png, { width, height, chromium });
    const buf = await readFile(png);
    expect(pngSize(buf)).toEqual({ width, height });
    // a blank page of that size compresses to a few KiB; charts, tables and text do not
    expect(buf.length).toBeGreaterThan(40_000);
  });

  it('prints (PDF)', async () => {
    const pdf = path.join(dir, 'report.pdf');
    await printToPdf(html, pdf, { chromium });
    const head = (await readFile(pdf)).subarray(0, 5).toString('latin1');
    expect(head).toBe('%PDF-');
    expect((await stat(pdf)).size).toBeGreaterThan(30_000);
  });
});
