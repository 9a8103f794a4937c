/**
 * Golden tests: Kubernetes YAML in policy/testdata/golden/*.yaml (each
 * prefixed with _base.yaml) -> the exact `ipset restore` and
 * `iptables-restore --noflush` input we would write from scratch, in
 * <fixture>.golden beside it. One fixture per feature; the header comment
 * of each says what to look for.
 *
 * After an intended change, regenerate with `UPDATE_GOLDEN=1 npx mocha
 * policy/golden.test.ts` and review the diff.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeNetfilter } from './testing/fake-netfilter.js';
import { GOLDEN_DIR as DIR, goldenFixtures, renderGolden } from './testing/golden.js';
import { loadCompiled } from './testing/sim-cluster.js';

describe('golden: manifests -> ipset and iptables-restore input', () => {
  const update = process.env.UPDATE_GOLDEN === '1';
  for (const name of goldenFixtures()) {
    it(name.replace(/\.yaml$/, ''), () => {
      const { output, compiled } = renderGolden(name);
      const goldenPath = join(DIR, name.replace(/\.yaml$/, '.golden'));
      if (update) writeFileSync(goldenPath, output);
      if (!existsSync(goldenPath)) expect.fail(`${goldenPath} is missing; create it with UPDATE_GOLDEN=1 and review it`);
      expect(output).to.equal(readFileSync(goldenPath, 'utf8'));
      // The input must be accepted as a whole by (an emulation of) the kernel tools.
      loadCompiled(new FakeNetfilter(), compiled);
    });
  }

  it('covers every fixture file with a golden file and no stale goldens', () => {
    const goldens = readdirSync(DIR).filter((f) => f.endsWith('.golden')).map((f) => f.replace(/\.golden$/, '.yaml')).sort();
    expect(goldens).to.deep.equal(goldenFixtures());
  });
});
