import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../../src/scenario/load.ts';
import { scenarioWarnings } from '../../../src/scenario/warnings.ts';

const of = (extra: string) =>
  scenarioWarnings(
    parseScenario(
      `version: 1\nname: w\ndescription: d\nworkload: { rate: 1/s, duration: 1s${extra} }\n`,
      'w.yml',
    ),
  );

describe('scenario warnings', () => {
  it('none when workload.target is a proxy listen address (defaults, any-address, localhost)', () => {
    expect(of('')).toEqual([]);
    expect(of(', target: "http://localhost:18080"')).toEqual([]);
    expect(
      scenarioWarnings(
        parseScenario(
          'version: 1\nname: w\ndescription: d\nproxies: [{ name: api, listen: "0.0.0.0:9000", upstream: "s:1" }]\nworkload: { rate: 1/s, duration: 1s, target: "http://toxiproxy.ns.svc:9000" }\n',
          'w.yml',
        ),
      ),
    ).toEqual([]);
  });

  it('warns when the load would go around every proxy', () => {
    const w = of(', target: "http://127.0.0.1:8080"');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(
      /workload.target http:\/\/127.0.0.1:8080 is not the listen address of any proxy \(api 127.0.0.1:18080, db 127.0.0.1:15432\)/,
    );
  });
});
