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

  it('shows findings grouped by the fault they sit nearest to, with what the writer saw (issue 14)', () => {
    for (const id of ['f1', 'f2', 'f3', 'none']) expect(html).toContain(`id="findings-${id}"`);
    const chain = report.findings.find((f) => f.kind === 'broken-chain');
    expect(html).toContain(chain?.expected);
    expect(html).toContain(chain?.found);
    expect(html).toContain('>8<'); // its seq
    // each missing entry with its ack time and the nearest fault, grouped under it, summarised
    expect(html).toContain('sent at 9.70 s, acked at 9.81 s, 190 ms before f1 db-down kill (db)');
    expect(html).toContain('<li>64 acknowledged writes lost before f1</li>');
    expect(html).toContain('sent at 26.00 s, acked at 26.40 s, during f2 latency (proxy db)');
    // the header names the system under test and says what failed, aloud
    expect(html).toContain('the reference service with flaws async-commit, local runtime');
    expect(html).toContain(
      '64 acknowledged events were lost, all within 190 ms before f1 db-down kill (db).',
    );
    // every finding of a group is one click away (a collapsed details), not cut at 50
    const f1 = html.slice(html.indexOf('id="findings-f1"'), html.indexOf('id="findings-f2"'));
    expect(f1).toMatch(/<details><summary>all 64 finding\(s\)<\/summary>/);
    expect(f1.match(/class="badge b-fail">missing</g)?.length).toBe(64);
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
    expect(md).toContain('### near f1 db-down kill (db), 10.00 s to 18.12 s (64)');
    expect(md).toContain('- 64 acknowledged writes lost before f1');
    expect(md).toContain(
      '**64 acknowledged events were lost, all within 190 ms before f1 db-down kill (db).**',
    );
    expect(md).toContain('System under test: the reference service with flaws async-commit, local runtime.');
    expect(md).toMatch(
      /\| missing \(violation\) \| 0193a1b2-4000-7000-8000-000000004000 \| - \| sent at 9\.70 s, acked at 9\.81 s, 190 ms before f1 db-down kill \(db\) \|/,
    );
    expect(md).toContain('### near no fault (3)');
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
