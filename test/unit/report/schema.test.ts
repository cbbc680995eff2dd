import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportJsonSchema, reportSchema } from '../../../src/report/model.ts';
import { writeReport } from '../../../src/report/write.ts';
import { fixtureReport, passingReport } from '../../helpers/report-fixture.ts';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const makeAjv = () => new Ajv2020({ allErrors: true, strict: false, formats: { 'date-time': ISO } });

const committedPath = path.resolve(import.meta.dirname, '../../../schema/report.schema.json');

describe('report JSON Schema', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-report-schema-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('matches the committed schema/report.schema.json (regenerate: auditchaos report --schema)', async () => {
    expect(JSON.parse(await readFile(committedPath, 'utf8'))).toEqual(reportJsonSchema());
  });

  it('is versioned and closed', () => {
    const s = reportJsonSchema() as {
      properties: { schemaVersion: { const: number } };
      additionalProperties: boolean;
    };
    expect(s.properties.schemaVersion.const).toBe(1);
    expect(s.additionalProperties).toBe(false);
  });

  it('validates the report.json that writeReport writes, for a failing and a passing run', async () => {
    const ajv = makeAjv();
    const validate = ajv.compile(JSON.parse(await readFile(committedPath, 'utf8')));
    for (const [name, report] of [
      ['fail', fixtureReport()],
      ['pass', passingReport()],
    ] as const) {
      const sub = path.join(dir, name);
      await writeReport(sub, report);
      const json = JSON.parse(await readFile(path.join(sub, 'report.json'), 'utf8'));
      const ok = validate(json);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
      expect(json.files).toEqual(
        expect.arrayContaining(['report.json', 'report.html', 'junit.xml', 'report.md']),
      );
    }
  });

  it('rejects what is not a version-1 report, through both the zod schema and the JSON Schema', () => {
    const ajv = makeAjv();
    const validate = ajv.compile(reportJsonSchema());
    const bad = { ...fixtureReport(), schemaVersion: 2 };
    expect(validate(JSON.parse(JSON.stringify(bad)))).toBe(false);
    expect(reportSchema.safeParse(bad).success).toBe(false);
    const extra = { ...fixtureReport(), surprise: true };
    expect(validate(JSON.parse(JSON.stringify(extra)))).toBe(false);
    const badOutcome = fixtureReport();
    (badOutcome.tamper[0] as { outcome: string }).outcome = 'ignored';
    expect(validate(JSON.parse(JSON.stringify(badOutcome)))).toBe(false);
  });

  it('writeReport refuses a malformed report instead of writing it', async () => {
    const bad = { ...fixtureReport(), verdict: { status: 'maybe', reasons: [] } };
    await expect(writeReport(path.join(dir, 'bad'), bad as never)).rejects.toThrow(/verdict/);
  });
});
