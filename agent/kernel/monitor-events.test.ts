/**
 * `ip -o -N monitor route link` lines, captured from a real kernel
 * (fixtures/monitor-oneline.txt), parsed into events.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineSplitter, type MonitorEvent, parseMonitorLine } from './monitor-events.js';

const fixture = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'monitor-oneline.txt'), 'utf8');

function summary(ev: MonitorEvent): string {
  if (ev.type === 'link') return `link ${ev.deleted ? '-' : '+'} ${ev.ifname} ${ev.up ? 'up' : 'down'}`;
  if (ev.type === 'other') return `other ${ev.text}`;
  const head = `${ev.deleted ? '-' : '+'} ${String(ev.prefix)} t${ev.table} p${ev.proto} `;
  if (ev.route) {
    const hops = ev.route.nextHops.map((h) => `${h.via}@${h.dev ?? ''}${h.weight ? `*${h.weight}` : ''}`).join(',');
    return `${head}${ev.route.kind} m${String(ev.route.metric)} ${hops}`.trimEnd();
  }
  return `${head}slot ${ev.slot?.what ?? '?'} m${String(ev.slot?.metric)}`;
}

describe('kernel/monitor-events: parseMonitorLine on captured output', () => {
  // Checked by hand against the commands in capture-fixtures.ts.
  const expected = [
    '- 10.1.0.0/24 t254 p77 unicast m0 192.0.2.2@ve0a',
    '+ 10.1.0.0/24 t254 p77 unicast m0 192.0.2.2@ve0a',
    '+ 10.2.0.0/24 t254 p77 unicast m0 192.0.2.2@ve0a*2,192.0.2.3@ve0a*3',
    '- 10.3.0.0/16 t254 p77 blackhole m0',
    '+ 10.3.0.0/16 t254 p77 blackhole m0',
    '- 2001:db8:11::/48 t254 p77 unicast m1024 2001:db8:1::2@ve0a*2,fe80::1@ve0a',
    '+ 2001:db8:11::/48 t254 p77 unicast m1024 2001:db8:1::2@ve0a,fe80::1@ve0a',
    '+ 10.4.0.5/32 t254 p4 slot unicast m0',
    '+ 10.100.1.0/24 t100 p77 unicast m0 192.0.2.2@ve0a',
    '- ::/0 t254 p77 unicast m100 fe80::1@ve0a',
    '+ 2001:db8:14::/48 t254 p77 unicast m1024 2001:db8:1::2@ve0a',
    'link + ve0a down',
    '- 2001:db8:1::/64 t254 p2 slot unicast m256',
    '- 2001:db8:10::/48 t254 p77 unicast m1024 2001:db8:1::2@ve0a',
    '- 2001:db8:10::/48 t254 p4 slot unicast m2000',
    // IPv6 reports a multipath route's removal one next hop at a time.
    '- 2001:db8:11::/48 t254 p77 unicast m1024 2001:db8:1::2@ve0a',
    '- 2001:db8:11::/48 t254 p77 unicast m1024 fe80::1@ve0a',
    '- 2001:db8:13::1/128 t254 p77 unicast m1024 2001:db8:1::2@ve0a',
    '- 2001:db8:14::/48 t254 p77 unicast m1024 2001:db8:1::2@ve0a',
    '- 2001:db8:20::/48 t254 p12 slot unicast m1024',
    '- fe80::/64 t254 p2 slot unicast m256',
  ];
  const lines = fixture.split('\n').filter((l) => l !== '');
  expected.forEach((want, i) => {
    it(`line ${i + 1}: ${want}`, () => {
      expect(summary(parseMonitorLine(lines[i], 77))).to.equal(want);
    });
  });

  it('every captured line parses to a route or link event (none is "other")', () => {
    for (const line of lines) expect(parseMonitorLine(line, 77).type, line).to.not.equal('other');
  });
});

describe('kernel/monitor-events: parseMonitorLine edge cases', () => {
  const cases: [string, string][] = [
    ['Deleted 7: veth1234@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue', 'link - veth1234 up'],
    ['6 default proto 77 metric 5', '+ undefined t254 p77 slot ? mundefined'],
    ['default via 192.0.2.1 dev eth0 proto 77 metric 7', '+ 0.0.0.0/0 t254 p77 unicast m7 192.0.2.1@eth0'],
    ['10.0.0.0/8 dev eth0 proto 77 scope 253', '+ 10.0.0.0/8 t254 p77 slot dev-only m0'],
    ['7 10.0.0.0/8 proto 77', '+ 10.0.0.0/8 t254 p77 slot unreachable m0'],
    ['10.0.0.0/8 via 192.0.2.1 dev eth0 proto 12', '+ 10.0.0.0/8 t254 p12 slot unicast m0'],
    ['10.0.0.0/8 via 192.0.2.1 dev eth0', '+ 10.0.0.0/8 t254 p3 slot unicast m0'],
    ['something we have never seen', 'other something we have never seen'],
  ];
  for (const [line, want] of cases) {
    it(JSON.stringify(line), () => {
      expect(summary(parseMonitorLine(line, 77))).to.equal(want);
    });
  }

  it('LineSplitter keeps a line cut across chunks whole', () => {
    const s = new LineSplitter();
    expect(s.push('10.0.0.0/8 via 1')).to.deep.equal([]);
    expect(s.push('92.0.2.1 proto 77\nDeleted 10')).to.deep.equal(['10.0.0.0/8 via 192.0.2.1 proto 77']);
    expect(s.push('.1.0.0/16 proto 77\n')).to.deep.equal(['Deleted 10.1.0.0/16 proto 77']);
  });
});
