/**
 * Writing a report folder: report.json plus the renderings asked for. The renderers are pure;
 * this is the only module of src/report/ that touches the file system.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { renderHtml } from './html.ts';
import { renderIndexHtml } from './index-page.ts';
import { renderJson } from './json.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { type Report, reportSchema } from './model.ts';

export const REPORT_FORMATS = ['json', 'md', 'html', 'junit'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const FORMAT_FILES: Record<ReportFormat, string> = {
  json: 'report.json',
  md: 'report.md',
  html: 'report.html',
  junit: 'junit.xml',
};

export interface WriteReportOptions {
  /** Which renderings to write; report.json is always written. Default: all. */
  formats?: readonly ReportFormat[];
  /** Secret values to redact wherever they appear (the signing key, passwords). */
  secrets?: readonly string[];
}

/** `reports/<scenario>-<UTC time>`: e.g. quickstart-20261121T230000Z. */
export function reportDirName(scenarioName: string, startedAt: Date): string {
  return `${scenarioName}-${startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

/**
 * Validates the report (a malformed one is a bug in the caller, thrown as is: exit 70), then
 * writes report.json and each rendering into `dir`. Returns the paths written, relative to dir.
 */
export async function writeReport(
  dir: string,
  report: Report,
  opts: WriteReportOptions = {},
): Promise<string[]> {
  const formats = new Set<ReportFormat>(['json', ...(opts.formats ?? REPORT_FORMATS)]);
  const parsed = reportSchema.parse(report);
  const files = [...new Set([...parsed.files, ...[...formats].map((f) => FORMAT_FILES[f])])].sort();
  const full: Report = { ...parsed, files };
  await mkdir(dir, { recursive: true });
  const render = { secrets: opts.secrets };
  const written: string[] = [];
  const put = async (format: ReportFormat, text: string) => {
    await writeFile(path.join(dir, FORMAT_FILES[format]), text);
    written.push(FORMAT_FILES[format]);
  };
  await put('json', renderJson(full, render));
  if (formats.has('md')) await put('md', renderMarkdown(full, render));
  if (formats.has('html')) await put('html', renderHtml(full, render));
  if (formats.has('junit')) await put('junit', renderJunit(full, render));
  return written;
}

/** Reads and validates DIR/report.json; a missing or invalid file is the user's to fix (exit 2). */
export async function readReport(dir: string): Promise<Report> {
  const file = path.join(dir, 'report.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new UsageError(`cannot read ${file}`, {
      cause,
      hint: 'pass a report folder written by `auditchaos run` (it holds report.json)',
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new UsageError(`${file} is not valid JSON`, { cause });
  }
  const result = reportSchema.safeParse(data);
  if (!result.success) {
    const first = result.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new UsageError(`${file} does not match the report schema (version 1): ${first}`, {
      hint: 'it may come from another auditchaos version; schema/report.schema.json describes version 1',
    });
  }
  return result.data;
}

/** `auditchaos report DIR`: re-renders md/html/junit (or the given formats) from report.json. */
export async function rerenderReport(
  dir: string,
  opts: { formats?: readonly ReportFormat[]; secrets?: readonly string[] } = {},
): Promise<{ report: Report; written: string[] }> {
  const report = await readReport(dir);
  const formats = (opts.formats ?? ['md', 'html', 'junit']).filter((f) => f !== 'json');
  const render = { secrets: opts.secrets };
  const written: string[] = [];
  for (const f of formats) {
    const text =
      f === 'md'
        ? renderMarkdown(report, render)
        : f === 'html'
          ? renderHtml(report, render)
          : renderJunit(report, render);
    await writeFile(path.join(dir, FORMAT_FILES[f]), text);
    written.push(FORMAT_FILES[f]);
  }
  return { report, written };
}

export interface IndexEntry {
  report: Report;
  /** The report's folder; linked relative to the index's folder. */
  dir: string;
}

/** A multi-scenario run: index.html linking each report, and one combined junit.xml. */
export async function writeIndex(
  dir: string,
  runs: readonly IndexEntry[],
  opts: { secrets?: readonly string[] } = {},
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const entries = runs.map((r) => ({
    report: r.report,
    href: path.relative(dir, r.dir).split(path.sep).join('/'),
  }));
  await writeFile(path.join(dir, 'index.html'), renderIndexHtml(entries, opts));
  await writeFile(
    path.join(dir, 'junit.xml'),
    renderJunit(
      runs.map((r) => r.report),
      opts,
    ),
  );
  return ['index.html', 'junit.xml'];
}
