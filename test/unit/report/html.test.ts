import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../../src/report/html.ts';
import { renderMarkdown } from '../../../src/report/markdown.ts';
import { externalResourceRefs } from '../../helpers/html-resources.ts';
import { fixtureReport, passingReport } from '../../helpers/report-fixture.ts';

describe('report.html', () => {
  const report = fixtureReport();
  const html = renderHtml(report);

  it('the resource check itself catches what it must', () => {
    expect(
      externalResourceRefs(
        '<img src="https://cdn.x/a.png"><link href=//fonts.x/css><style>@import "http://a/b.css"; p{background:url(https://t/p.gif)}</style><use xlink:href="http://x#a"/>',
      ),
    ).toHaveLength(5);
    expect(externalResourceRefs('<a href="#findings">x</a><a href="a/report.html">y</a>')).toEqual([]);
  });

  it('references no http:// or https:// resource, and forbids fetching by CSP', () => {
    expect(externalResourceRefs(html)).toEqual([]);
    expect(html).not.toMatch(/<script|<link|<iframe|<img/i);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
    // the only URLs are text from the scenario, not namespaces or links
    expect(html).not.toContain('www.w3.org');
  });

  it('puts the verdict first, then the timeline with each fault window as a labelled band', () => {
    const verdictAt = html.indexOf('class="verdict v-fail"');
    const timelineAt = html.indexOf('id="timeline"');
    expect(verdictAt).toBeGreaterThan(0);
    expect(verdictAt).toBeLessThan(html.indexOf('id="invariants"'));
    expect(html.indexOf('id="invariants"')).toBeLessThan(timelineAt);
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(4); // two charts, each wide and narrow
    for (const svg of svgs) {
      for (const label of ['db-down db', 'latency proxy db', 'partition proxy api'])
        expect(svg).toContain(label);
    }
    expect(svgs[0]).toContain('acknowledged/s');
    expect(svgs[2]).toContain('p99');
    expect(svgs.map((x) => /chart-(wide|narrow)/.exec(x)?.[1])).toEqual(['wide', 'narrow', 'wide', 'narrow']);
    // two charts, each with its own class names
    expect(svgs[0]).toContain('"tp-c0"');
    expect(svgs[1]).toContain('"tpn-c0"');
    expect(svgs[2]).toContain('"lat-c0"');
  });

  it('shows findings grouped by kind with their evidence', () => {
    for (const kind of ['missing', 'partial', 'broken-chain', 'tamper-detected', 'indeterminate'])
      expect(html).toContain(`id="finding-${kind}"`);
    const chain = report.findings.find((f) => f.kind === 'broken-chain');
    expect(html).toContain(chain?.expected);
    expect(html).toContain(chain?.found);
    expect(html).toContain('>8<'); // its seq
    expect(html).toContain('f2 latency proxy db'); // faults active for the partial entry
    expect(html).toContain('... and 14 more in report.json.'); // 64 missing, 50 shown
  });

  it('shows tamper probes with outcomes, and the scenario as run', () => {
    expect(html).toContain('delete-triggers-off');
    expect(html).toMatch(/badge b-fail">accepted/);
    expect(html).toMatch(/badge b-warn">detected/);
    expect(html).toContain('async-commit');
    expect(html).toMatch(/<pre>[\s\S]*rate: 400[\s\S]*<\/pre>/);
  });

  it('escapes everything that comes from the run', () => {
    const r = fixtureReport();
    (r.findings[0] as { message: string }).message = '<script>alert(1)</script>';
    r.scenario.description = '<img src=x onerror=alert(1)>';
    const out = renderHtml(r);
    expect(out).not.toContain('<script>alert(1)');
    expect(out).not.toContain('<img src=x');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('says plainly when there was nothing to chart and no scan', () => {
    const r = passingReport();
    r.series = [];
    r.scan = null;
    r.interrupted = true;
    r.verdict = { status: 'unknown', reasons: ['interrupted before the scan'] };
    const out = renderHtml(r);
    expect(out).toContain('UNKNOWN (interrupted, partial report)');
    expect(out).toContain('No workload samples were recorded.');
    expect(out).toContain('The run stopped before the scan.');
  });
});

describe('report.md', () => {
  it('tells the same story: verdict, invariants, faults, findings, tamper, scenario', () => {
    const md = renderMarkdown(fixtureReport());
    expect(md.split('\n')[0]).toBe('# db-downtime: FAIL');
    expect(md).toMatch(
      /\| missing: every acknowledged event is in the log \| \*\*FAIL\*\* \| 64 missing findings \(allowed 0\) \|/,
    );
    expect(md).toMatch(/\| duplicate: no event id is stored twice \| PASS \|/);
    expect(md).toContain('### broken-chain (2, violation)');
    expect(md).toContain('| f1 | db-down | db | 00:10 for 8s | 00:10 to 00:18 |');
    expect(md).toContain('Verifier self-check: PASS, canaries caught: 5/5.');
    expect(md).toContain('```yaml');
  });

  it('keeps table cells in their columns when values hold pipes and newlines', () => {
    const r = fixtureReport();
    (r.findings[0] as { message: string }).message = 'a | b\nc';
    const md = renderMarkdown(r);
    expect(md).toContain('a \\| b c');
  });
});

describe('determinism', () => {
  it('renders the same report to the same bytes, however many charts the process drew before', () => {
    expect(renderHtml(fixtureReport())).toBe(renderHtml(fixtureReport()));
  });
});
