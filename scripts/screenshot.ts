/**
 * Screenshots for the README and the report tests, taken with headless Chromium (Debian's
 * `chromium` package):
 *
 *   npx tsx scripts/screenshot.ts reports/db-downtime-20261121T230000Z [--out docs/img]
 *
 * writes report.png (desktop), report-phone.png (390 px wide), report.pdf (print) and
 * terminal-summary.png (the end-of-run summary table as a colour terminal shows it).
 * Set AUDITCHAOS_CHROMIUM to use another Chromium binary.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Chalk } from 'chalk';
import { execa } from 'execa';
import { escapeHtml, page } from '../src/report/html.ts';
import { renderSummary } from '../src/report/terminal/summary.ts';
import { readReport } from '../src/report/write.ts';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.AUDITCHAOS_CHROMIUM) return env.AUDITCHAOS_CHROMIUM;
  return CANDIDATES.find((c) => existsSync(c));
}

/** The flags that keep headless Chromium off the network and away from the user's profile. */
function baseArgs(userDataDir: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-extensions',
    '--no-first-run',
    '--no-default-browser-check',
    '--hide-scrollbars',
    '--mute-audio',
    `--user-data-dir=${userDataDir}`,
  ];
}

async function runChromium(chromium: string, args: string[], target: string): Promise<void> {
  const profile = await mkdtemp(path.join(tmpdir(), 'auditchaos-chromium-'));
  try {
    const r = await execa(chromium, [...baseArgs(profile), ...args, pathToFileURL(target).href], {
      reject: false,
      timeout: 60_000,
      env: { ...process.env, HOME: profile },
    });
    if (r.exitCode !== 0) throw new Error(`chromium exited ${r.exitCode}: ${String(r.stderr).slice(-800)}`);
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

export async function screenshotHtml(
  htmlFile: string,
  pngFile: string,
  opts: { width: number; height: number; chromium?: string },
): Promise<void> {
  const chromium = opts.chromium ?? findChromium();
  if (!chromium)
    throw new Error('no Chromium found: apt-get install -y chromium, or set AUDITCHAOS_CHROMIUM');
  await runChromium(
    chromium,
    [`--screenshot=${path.resolve(pngFile)}`, `--window-size=${opts.width},${opts.height}`],
    htmlFile,
  );
}

export async function printToPdf(
  htmlFile: string,
  pdfFile: string,
  opts: { chromium?: string } = {},
): Promise<void> {
  const chromium = opts.chromium ?? findChromium();
  if (!chromium)
    throw new Error('no Chromium found: apt-get install -y chromium, or set AUDITCHAOS_CHROMIUM');
  await runChromium(
    chromium,
    [`--print-to-pdf=${path.resolve(pdfFile)}`, '--no-pdf-header-footer'],
    htmlFile,
  );
}

/** Width and height of a PNG, read from its IHDR chunk. */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const SGR: Record<string, string> = {
  '1': 'font-weight:bold',
  '2': 'opacity:.65',
  '4': 'text-decoration:underline',
  '31': 'color:#ff6b6b',
  '32': 'color:#69db7c',
  '33': 'color:#ffd43b',
  '35': 'color:#e599f7',
  '36': 'color:#66d9e8',
};

/** The few SGR codes chalk emits at level 1, as HTML spans: enough to picture a terminal. */
export function ansiToHtml(text: string): string {
  let open = 0;
  const html = text.split(/(\u001b\[[0-9;]*m)/).map((part) => {
    const m = /^\u001b\[([0-9;]*)m$/.exec(part);
    if (!m) return escapeHtml(part);
    const codes = (m[1] ?? '').split(';');
    if (codes.some((c) => ['0', '22', '24', '39', ''].includes(c))) {
      const close = '</span>'.repeat(open > 0 ? 1 : 0);
      open = Math.max(0, open - 1);
      return close;
    }
    const style = codes
      .map((c) => SGR[c])
      .filter(Boolean)
      .join(';');
    if (!style) return '';
    open++;
    return `<span style="${style}">`;
  });
  return html.join('') + '</span>'.repeat(open);
}

export async function terminalSummaryHtml(reportDir: string): Promise<string> {
  const report = await readReport(reportDir);
  const text = renderSummary(report, { color: new Chalk({ level: 1 }), reportDir, columns: 110 });
  const prompt = `<span style="color:#69db7c">$</span> auditchaos run ${escapeHtml(report.scenario.file ?? report.scenario.name)}\n…\n`;
  return page(
    'auditchaos terminal summary',
    `<pre style="background:#1e1e1e;color:#e9ecef;border:0;padding:18px;font-size:13px;line-height:1.35">${prompt}${ansiToHtml(text)}</pre>`,
  );
}

async function main(argv: string[]): Promise<void> {
  const dir = argv[0];
  if (!dir || dir.startsWith('-')) {
    console.error('usage: npx tsx scripts/screenshot.ts <report-dir> [--out docs/img]');
    process.exitCode = 2;
    return;
  }
  const outIdx = argv.indexOf('--out');
  const out = outIdx >= 0 && argv[outIdx + 1] ? (argv[outIdx + 1] as string) : 'docs/img';
  await mkdir(out, { recursive: true });
  const html = path.join(dir, 'report.html');
  await screenshotHtml(html, path.join(out, 'report.png'), { width: 1280, height: 2200 });
  await screenshotHtml(html, path.join(out, 'report-phone.png'), { width: 390, height: 1800 });
  await printToPdf(html, path.join(out, 'report.pdf'));
  const term = path.join(await mkdtemp(path.join(tmpdir(), 'auditchaos-term-')), 'summary.html');
  await writeFile(term, await terminalSummaryHtml(dir));
  await screenshotHtml(term, path.join(out, 'terminal-summary.png'), { width: 980, height: 480 });
  for (const f of ['report.png', 'report-phone.png', 'report.pdf', 'terminal-summary.png']) {
    const size = (await readFile(path.join(out, f))).length;
    console.log(`${path.join(out, f)}  ${Math.round(size / 1024)} KiB`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
