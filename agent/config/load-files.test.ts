/** Loading from disk: unreadable files, the checked-in examples, --check-config, mangled input. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { hasCode } from '../../lib/errors.js';
import { checkConfigFile } from './check.js';
import { ConfigInvalidError, ERR_CONFIG_INVALID, formatIssue, formatIssues } from './issues.js';
import { loadConfig, loadConfigSync, readConfigFileSync } from './load.js';
import { effectivePeers } from './peers.js';
import { parse, TEST_ENV } from './test-fixtures.js';

describe('config: files', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tortie-config-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: { name: string; setup: (d: string) => string; has: string }[] = [
    { name: 'a missing file', setup: (d) => join(d, 'nope.yaml'), has: 'cannot read the file: ENOENT: no such file or directory' },
    { name: 'an unreadable file (a directory)', setup: (d) => d, has: 'cannot read the file: EISDIR: illegal operation on a directory' },
    {
      name: 'a file that is not UTF-8',
      setup: (d) => {
        const f = join(d, 'latin1.yaml');
        writeFileSync(f, Buffer.from([0x6e, 0x6f, 0x64, 0x65, 0x3a, 0x20, 0xe9, 0x0a]));
        return f;
      },
      has: 'cannot read the file: it is not valid UTF-8 text',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const file = c.setup(dir);
      const r = readConfigFileSync(file, TEST_ENV);
      expect(r.ok).to.equal(false);
      if (r.ok) return;
      expect(r.issues).to.have.length(1);
      expect(r.issues[0]).to.include({ file, line: 0, column: 0, path: '' });
      expect(r.issues[0].message).to.include(c.has);
      expect(formatIssue(r.issues[0])).to.match(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read the file: `));
    });
  }

  it('an empty file on disk', () => {
    const f = join(dir, 'empty.yaml');
    writeFileSync(f, '');
    const r = readConfigFileSync(f, TEST_ENV);
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.issues[0]).to.deep.include({ file: f, line: 1, column: 1, path: '', message: 'the file is empty; a configuration needs at least node.asn' });
  });

  it('checkConfigFile: every error on its own line, then the count; or a summary', () => {
    const bad = join(dir, 'check-bad.yaml');
    writeFileSync(bad, 'node:\n  asn: 65001\n  routerId: 192.0.2.1\nbgp:\n  holdTimeSec: 1\n  peers: [{ address: 192.0.2.1, asn: 70000000000 }]\n');
    const r = checkConfigFile(bad, TEST_ENV);
    expect(r.ok).to.equal(false);
    expect(r.text).to.equal([
      `${bad}:5:16: bgp.holdTimeSec: hold time 1 is not allowed: it must be 0 (no keepalives) or 3..65535 (RFC 4271 §4.2)`,
      `${bad}:6:38: bgp.peers[0].asn: AS 70000000000 is out of range (0..4294967295)`,
      '2 errors',
      '',
    ].join('\n'));
    const good = join(dir, 'check-good.yaml');
    writeFileSync(good, 'node: { name: n1, asn: 65001, routerId: 192.0.2.1 }\nbgp: { peers: [{ address: 192.0.2.2, asn: 65002 }] }\n');
    const ok = checkConfigFile(good, TEST_ENV);
    expect(ok.ok).to.equal(true);
    expect(ok.text).to.equal(`${good}: OK\nnode n1: AS 65001, router ID 192.0.2.1\n1 peer (0 mesh, 1 explicit), 0 originated prefixes, route protocol 201\n`);
  });

  it('loadConfig and loadConfigSync throw ConfigInvalidError (ERR_CONFIG_INVALID) with every issue', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'node:\n  asn: -1\n  routerId: 1.2.3\n');
    for (const attempt of [() => loadConfig(f, TEST_ENV), () => Promise.resolve().then(() => loadConfigSync(f, TEST_ENV))]) {
      let err: unknown;
      try {
        await attempt();
      } catch (e) {
        err = e;
      }
      expect(hasCode(err, ERR_CONFIG_INVALID)).to.equal(true);
      expect(err).to.be.instanceOf(ConfigInvalidError);
      const issues = (err as ConfigInvalidError).issues;
      expect(issues.map((i) => [i.line, i.path])).to.deep.equal([[2, 'node.asn'], [3, 'node.routerId']]);
      expect((err as Error).message).to.include(`${f}:2:8: node.asn: AS -1 is out of range`);
    }
  });
});

describe('config: examples', () => {
  const root = fileURLToPath(new URL('../../examples/', import.meta.url));
  const files = [
    ...readdirSync(root).filter((f) => f.endsWith('.yaml')),
    ...readdirSync(join(root, 'mesh-3-nodes')).map((f) => join('mesh-3-nodes', f)),
  ];

  it('has the examples the docs name', () => {
    expect(files).to.include.members(['minimal.yaml', 'standalone-node.yaml', 'mesh-3-nodes/node-a.yaml', 'mesh-3-nodes/node-b.yaml', 'mesh-3-nodes/node-c.yaml']);
  });

  for (const f of files) {
    it(`${f} loads`, () => {
      const r = readConfigFileSync(join(root, f), TEST_ENV);
      expect(r.ok, r.ok ? '' : formatIssues(r.issues)).to.equal(true);
    });
  }

  it('the three mesh nodes each peer with the two others', () => {
    const peersOf = (n: string): string[] =>
      effectivePeers(loadConfigSync(join(root, 'mesh-3-nodes', `node-${n}.yaml`), TEST_ENV)).peers.map((p) => `${p.address} ${p.type} ${p.source}`);
    expect(peersOf('a')).to.deep.equal(['192.0.2.12 ibgp mesh', '192.0.2.13 ibgp mesh']);
    expect(peersOf('b')).to.deep.equal(['192.0.2.11 ibgp mesh', '192.0.2.13 ibgp mesh']);
    expect(peersOf('c')).to.deep.equal(['192.0.2.11 ibgp mesh', '192.0.2.12 ibgp mesh']);
  });

  it('the standalone node has two ToR peers sharing one policy through an alias, and two mesh peers', () => {
    const cfg = loadConfigSync(join(root, 'standalone-node.yaml'), TEST_ENV);
    const { peers, warnings } = effectivePeers(cfg);
    expect(warnings).to.deep.equal([]);
    expect(peers.map((p) => [p.address, p.source, p.type, p.description])).to.deep.equal([
      ['192.0.2.12', 'mesh', 'ibgp', 'mesh: node-b'],
      ['192.0.2.13', 'mesh', 'ibgp', 'mesh: node-c'],
      ['192.0.2.1', 'explicit', 'ebgp', 'tor-a'],
      ['192.0.2.2', 'explicit', 'ebgp', 'tor-b'],
    ]);
    expect(peers[2].importPolicy?.terms).to.deep.equal(peers[3].importPolicy?.terms);
  });
});

describe('config: mangled input', () => {
  // Arbitrary edits of a valid file may only ever produce issues with a
  // position, never an exception. Seeded, so a failure reproduces.
  it('200 seeded random edits of standalone-node.yaml never throw', () => {
    const base = readFileSync(fileURLToPath(new URL('../../examples/standalone-node.yaml', import.meta.url)), 'utf8');
    let seed = 7;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const alphabet = ' :-[]{},"\n#&*!0123456789abcdefx./';
    let accepted = 0;
    for (let i = 0; i < 200; i++) {
      let t = base;
      for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) {
        const at = Math.floor(rnd() * t.length);
        const op = rnd();
        if (op < 0.4) t = t.slice(0, at) + t.slice(at + 1 + Math.floor(rnd() * 5));
        else if (op < 0.8) t = t.slice(0, at) + alphabet[Math.floor(rnd() * alphabet.length)] + t.slice(at);
        else t = t.slice(0, at) + t.slice(Math.floor(rnd() * t.length));
      }
      const r = parse(t);
      if (r.ok) {
        accepted++;
        continue;
      }
      const unplaced = r.issues.filter((is) => !(is.line >= 1 && is.column >= 1));
      if (r.issues.length === 0 || unplaced.length > 0) expect.fail(`issues without a place for ${JSON.stringify(t)}: ${JSON.stringify(unplaced)}`);
    }
    // Most edits break something, some (inside comments) do not.
    expect(accepted).to.be.above(0).and.below(200);
  });
});
