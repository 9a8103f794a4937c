/**
 * Independent check of the codec (issue 2): our encoder's bytes, wrapped in
 * a clean TCP conversation, are dissected by tshark (Wireshark), which must
 * report no malformed packet and no expert info at warning or error level,
 * see exactly as many BGP messages as we wrote, and read back the same
 * values we encoded (the corpus is in tshark-corpus.ts).
 *
 * Two captures, because tshark 4.0 has no per-conversation memory of the
 * 4-octet AS capability: one for a 4-octet AS session (bgp.asn_len:4) and
 * one for an old 2-octet speaker with AS4_PATH/AS4_AGGREGATOR (bgp.asn_len:2).
 *
 * Set TORTIE_KEEP_PCAP=1 to keep the captures for a look in Wireshark.
 */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttrType,
  MessageType,
  NotifCode,
  capabilitiesOf,
  toHex,
  type Capability,
  type ExtendedCommunity,
  type Nlri,
  type PathAttribute,
} from '../../bgp/codec/index.js';
import { bgpMessagesToPcap, type CapturedMessage, type SegmentPlan } from '../support/pcap.js';
import {
  dissectWithTshark,
  formatProblems,
  type TsharkAttribute,
  type TsharkBgpMessage,
  type TsharkCapability,
  type TsharkPrefix,
  type TsharkReport,
} from '../support/tshark.js';
import { at, bytesOf, fourOctetCorpus, twoOctetCorpus, type Entry } from './tshark-corpus.js';

// ---------------------------------------------------------------- expected vs tshark views

function capCode(c: Capability): number {
  return c.code === 'unknown' ? c.capCode : c.code;
}

function attrCode(a: PathAttribute): number {
  return a.type === 'unknown' ? a.code : a.type;
}

function prefixText(p: Nlri | TsharkPrefix): string {
  return p.pathId === undefined ? p.prefix : `${p.prefix} path-id ${p.pathId}`;
}

function hex(value: number, octets: number): string {
  return value.toString(16).padStart(octets * 2, '0');
}

function one(fields: Record<string, string[]>, key: string): string | undefined {
  return fields[key]?.[0];
}

function nums(fields: Record<string, string[]>, key: string): number[] {
  return (fields[key] ?? []).map(Number);
}

/** tshark prints FT_BOOLEAN leaves as "1"/"0". */
function bools(fields: Record<string, string[]>, key: string): boolean[] {
  return (fields[key] ?? []).map((v) => v === '1' || v === 'True' || v === 'true');
}

/** One row per capability code we interpret: the codec's view and tshark's view of the same facts. */
const CAPABILITY_VIEWS: Record<number, { codec: (c: Capability) => unknown; tshark: (t: TsharkCapability) => unknown }> = {
  1: {
    codec: (c) => ('afi' in c ? { afi: c.afi, safi: c.safi } : undefined),
    tshark: (t) => ({ afi: Number(one(t.fields, 'bgp.cap.mp.afi')), safi: Number(one(t.fields, 'bgp.cap.mp.safi')) }),
  },
  64: {
    codec: (c) => {
      const gr = c as Extract<Capability, { code: 64 }>;
      return {
        restarting: gr.restarting, notification: gr.notification, restartTimeSec: gr.restartTimeSec,
        families: gr.families.map((f) => [f.afi, f.safi, f.forwardingPreserved]),
      };
    },
    tshark: (t) => {
      const afis = nums(t.fields, 'bgp.cap.gr.afi');
      const safis = nums(t.fields, 'bgp.cap.gr.safi');
      const pfs = bools(t.fields, 'bgp.cap.gr.flag.pfs');
      return {
        restarting: bools(t.fields, 'bgp.cap.gr.timers.restart_flag')[0],
        notification: bools(t.fields, 'bgp.cap.gr.timers.notification_flag')[0],
        restartTimeSec: Number(one(t.fields, 'bgp.cap.gr.timers.restart_time')),
        families: afis.map((afi, i) => [afi, safis[i], pfs[i]]),
      };
    },
  },
  2: { codec: () => 0, tshark: (t) => t.length },
  6: { codec: () => 0, tshark: (t) => t.length },
  70: { codec: () => 0, tshark: (t) => t.length },
  5: {
    codec: (c) => (c as Extract<Capability, { code: 5 }>).entries.map((e) => [e.afi, e.safi, e.nextHopAfi]),
    tshark: (t) => {
      const safis = nums(t.fields, 'bgp.cap.enh.safi');
      const nhAfis = nums(t.fields, 'bgp.cap.enh.nhafi');
      return nums(t.fields, 'bgp.cap.enh.afi').map((afi, i) => [afi, safis[i], nhAfis[i]]);
    },
  },
  65: {
    codec: (c) => (c as Extract<Capability, { code: 65 }>).asn,
    tshark: (t) => Number(one(t.fields, 'bgp.cap.4as')),
  },
  69: {
    codec: (c) => (c as Extract<Capability, { code: 69 }>).entries.map((e) => [e.afi, e.safi, e.mode]),
    tshark: (t) => {
      const safis = nums(t.fields, 'bgp.cap.ap.safi');
      const modes = nums(t.fields, 'bgp.cap.ap.sendreceive');
      return nums(t.fields, 'bgp.cap.ap.afi').map((afi, i) => [afi, safis[i], modes[i]]);
    },
  },
  // tshark 4.0 shows LLGR (RFC 9494) as undecoded bytes, so compare them with
  // the layout built here by hand: AFI(2) SAFI(1) flags(1) stale time(3).
  71: {
    codec: (c) =>
      (c as Extract<Capability, { code: 71 }>).families
        .map((f) => hex(f.afi, 2) + hex(f.safi, 1) + hex(f.forwardingPreserved ? 0x80 : 0, 1) + hex(f.staleTimeSec, 3))
        .join(''),
    tshark: (t) => one(t.fields, 'bgp.cap.unknown')?.replace(/:/g, ''),
  },
  73: {
    codec: (c) => {
      const f = c as Extract<Capability, { code: 73 }>;
      return [f.hostname, f.domain];
    },
    tshark: (t) => [one(t.fields, 'bgp.cap.orf.fqdn.hostname'), one(t.fields, 'bgp.cap.orf.fqdn.domain_name')],
  },
};

/** Capabilities we keep as raw bytes: tshark shows the bytes of those it does not know either. */
const UNKNOWN_CAPABILITY_VIEW = {
  codec: (c: Capability) => (c.code === 'unknown' ? toHex(c.raw) : undefined),
  tshark: (t: TsharkCapability) => one(t.fields, 'bgp.cap.unknown')?.replace(/:/g, ''),
};

/** RFC 4360 extended community as tshark splits it, for the types in our corpus. */
function extCommunityView(c: ExtendedCommunity): unknown {
  const v = c.value;
  const u16 = (i: number): number => (v[i] << 8) | v[i + 1];
  const u32 = (i: number): number => ((v[i] << 24) | (v[i + 1] << 16) | (v[i + 2] << 8) | v[i + 3]) >>> 0;
  switch (c.type & 0x3f) {
    case 0x00: return { type: c.type, subtype: c.subtype, as: u16(0), an: u32(2) };
    case 0x01: return { type: c.type, subtype: c.subtype, ip: `${v[0]}.${v[1]}.${v[2]}.${v[3]}`, an: u16(4) };
    case 0x02: return { type: c.type, subtype: c.subtype, as: u32(0), an: u16(4) };
    default: return { type: c.type, subtype: c.subtype, raw: toHex(v) };
  }
}

function tsharkExtCommunityView(f: Record<string, string[]>): unknown {
  const type = Number(one(f, 'bgp.ext_com.type'));
  const subtypeKey = Object.keys(f).find((k) => k.startsWith('bgp.ext_com.stype'));
  const subtype = subtypeKey === undefined ? NaN : Number(one(f, subtypeKey));
  switch (type & 0x3f) {
    case 0x00: return { type, subtype, as: Number(one(f, 'bgp.ext_com.value_as2')), an: Number(one(f, 'bgp.ext_com.value_an4')) };
    case 0x01: return { type, subtype, ip: one(f, 'bgp.ext_com.value_IP4'), an: Number(one(f, 'bgp.ext_com.value_an2')) };
    case 0x02: return { type, subtype, as: Number(one(f, 'bgp.ext_com.value_as4')), an: Number(one(f, 'bgp.ext_com.value_an2')) };
    default: return { type, subtype, raw: one(f, 'bgp.ext_com.value_raw') };
  }
}

function segmentsView(segments: { type: number; asns: number[] }[]): unknown {
  return segments.map((s) => ({ type: s.type, asns: s.asns }));
}

type AttrOf<T extends number> = Extract<PathAttribute, { type: T }>;

/** One row per attribute type: what we encoded and what tshark read, in the same shape. */
const ATTRIBUTE_VIEWS: Record<number, { codec: (a: PathAttribute) => unknown; tshark: (t: TsharkAttribute) => unknown }> = {
  [AttrType.Origin]: {
    codec: (a) => (a as AttrOf<AttrType.Origin>).origin,
    tshark: (t) => Number(one(t.fields, 'bgp.update.path_attribute.origin')),
  },
  [AttrType.AsPath]: {
    codec: (a) => segmentsView((a as AttrOf<AttrType.AsPath>).segments),
    tshark: (t) => segmentsView(t.segments),
  },
  [AttrType.NextHop]: {
    codec: (a) => (a as AttrOf<AttrType.NextHop>).nextHop,
    tshark: (t) => one(t.fields, 'bgp.update.path_attribute.next_hop'),
  },
  [AttrType.MultiExitDisc]: {
    codec: (a) => (a as AttrOf<AttrType.MultiExitDisc>).med,
    tshark: (t) => Number(one(t.fields, 'bgp.update.path_attribute.multi_exit_disc')),
  },
  [AttrType.LocalPref]: {
    codec: (a) => (a as AttrOf<AttrType.LocalPref>).localPref,
    tshark: (t) => Number(one(t.fields, 'bgp.update.path_attribute.local_pref')),
  },
  [AttrType.AtomicAggregate]: { codec: () => 0, tshark: (t) => t.length },
  [AttrType.Aggregator]: {
    codec: (a) => [(a as AttrOf<AttrType.Aggregator>).asn, (a as AttrOf<AttrType.Aggregator>).address],
    tshark: (t) => [Number(one(t.fields, 'bgp.update.path_attribute.aggregator_as')), one(t.fields, 'bgp.update.path_attribute.aggregator_origin')],
  },
  [AttrType.Communities]: {
    codec: (a) => (a as AttrOf<AttrType.Communities>).communities,
    tshark: (t) => t.communities,
  },
  [AttrType.OriginatorId]: {
    codec: (a) => (a as AttrOf<AttrType.OriginatorId>).originatorId,
    tshark: (t) => one(t.fields, 'bgp.update.path_attribute.originator_id'),
  },
  [AttrType.ClusterList]: {
    codec: (a) => (a as AttrOf<AttrType.ClusterList>).clusterIds,
    tshark: (t) => t.fields['bgp.path_attribute.cluster_id'] ?? [],
  },
  [AttrType.MpReachNlri]: {
    codec: (a) => {
      const mp = a as AttrOf<AttrType.MpReachNlri>;
      return { afi: mp.afi, safi: mp.safi, nextHops: mp.nextHops, nlri: mp.nlri.map(prefixText) };
    },
    tshark: (t) => ({
      afi: Number(one(t.fields, 'bgp.update.path_attribute.mp_reach_nlri.afi')),
      safi: Number(one(t.fields, 'bgp.update.path_attribute.mp_reach_nlri.safi')),
      nextHops: [
        ...(t.fields['bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4'] ?? []),
        ...(t.fields['bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6'] ?? []),
        ...(t.fields['bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local'] ?? []),
      ],
      nlri: t.prefixes.map(prefixText),
    }),
  },
  [AttrType.MpUnreachNlri]: {
    codec: (a) => {
      const mp = a as AttrOf<AttrType.MpUnreachNlri>;
      return { afi: mp.afi, safi: mp.safi, withdrawn: mp.withdrawn.map(prefixText) };
    },
    tshark: (t) => ({
      afi: Number(one(t.fields, 'bgp.update.path_attribute.mp_unreach_nlri.afi')),
      safi: Number(one(t.fields, 'bgp.update.path_attribute.mp_unreach_nlri.safi')),
      withdrawn: t.prefixes.map(prefixText),
    }),
  },
  [AttrType.ExtendedCommunities]: {
    codec: (a) => (a as AttrOf<AttrType.ExtendedCommunities>).communities.map(extCommunityView),
    tshark: (t) => t.extCommunities.map(tsharkExtCommunityView),
  },
  [AttrType.As4Path]: {
    codec: (a) => segmentsView((a as AttrOf<AttrType.As4Path>).segments),
    tshark: (t) => segmentsView(t.segments),
  },
  [AttrType.As4Aggregator]: {
    codec: (a) => [(a as AttrOf<AttrType.As4Aggregator>).asn, (a as AttrOf<AttrType.As4Aggregator>).address],
    tshark: (t) => [Number(one(t.fields, 'bgp.update.path_attribute.aggregator_as')), one(t.fields, 'bgp.update.path_attribute.aggregator_origin')],
  },
  [AttrType.LargeCommunity]: {
    codec: (a) => (a as AttrOf<AttrType.LargeCommunity>).communities.map((c) => [c.global, c.local1, c.local2]),
    tshark: (t) => t.largeCommunities.map((c) => [c.global, c.local1, c.local2]),
  },
};

/** tshark 4.0 does not show the bytes of an attribute it does not know, so compare the length. */
const UNKNOWN_ATTRIBUTE_VIEW = {
  codec: (a: PathAttribute) => (a.type === 'unknown' ? a.data.length : undefined),
  tshark: (t: TsharkAttribute) => t.length,
};

/** Collects "field: expected X, tshark Y" lines for one message. */
class Diff {
  readonly lines: string[] = [];
  constructor(private readonly label: string) {}
  check(field: string, expected: unknown, actual: unknown): void {
    const e = JSON.stringify(expected);
    const a = JSON.stringify(actual);
    if (e !== a) this.lines.push(`${this.label}: ${field}: expected ${e}, tshark ${a}`);
  }
}

/** Every difference between what `entry` encoded (as `bytes`) and what tshark read. */
function compareMessage(entry: Entry, bytes: Uint8Array, t: TsharkBgpMessage): string[] {
  const d = new Diff(`${entry.name} (frame ${t.frame})`);
  const m = entry.msg;
  d.check('type', m.type, t.type);
  d.check('length', bytes.length, t.length);
  if (m.type !== t.type) return d.lines;
  switch (m.type) {
    case MessageType.Open: {
      const o = t.open;
      d.check('version', m.version, o?.version);
      d.check('my AS', m.myAs, o?.myAs);
      d.check('hold time', m.holdTimeSec, o?.holdTimeSec);
      d.check('BGP identifier', m.bgpId, o?.bgpId);
      d.check('optional parameter types', m.params.map((p) => p.type), o?.paramTypes);
      const caps = capabilitiesOf(m);
      d.check('capability codes', caps.map(capCode), o?.capabilities.map((c) => c.code));
      caps.forEach((c, i) => {
        const view = c.code === 'unknown' ? UNKNOWN_CAPABILITY_VIEW : CAPABILITY_VIEWS[c.code];
        const tc = o?.capabilities[i];
        if (view && tc) d.check(`capability ${capCode(c)}`, view.codec(c), view.tshark(tc));
      });
      break;
    }
    case MessageType.Update: {
      const u = t.update;
      d.check('withdrawn', m.withdrawn.map(prefixText), u?.withdrawn.map(prefixText));
      d.check('NLRI', m.nlri.map(prefixText), u?.nlri.map(prefixText));
      d.check('attribute types', m.attributes.map(attrCode), u?.attributes.map((a) => a.typeCode));
      m.attributes.forEach((a, i) => {
        const ta = u?.attributes[i];
        if (!ta || ta.typeCode !== attrCode(a)) return;
        d.check(`attribute ${attrCode(a)} flags (O/T/P)`, a.flags & 0xe0, ta.flags & 0xe0);
        // Extended Length: kept when asked for, forced when the value needs it.
        d.check(`attribute ${attrCode(a)} extended length`, (a.flags & 0x10) !== 0 || ta.length > 255, (ta.flags & 0x10) !== 0);
        const view = a.type === 'unknown' ? UNKNOWN_ATTRIBUTE_VIEW : ATTRIBUTE_VIEWS[a.type];
        if (view) d.check(`attribute ${attrCode(a)}`, view.codec(a), view.tshark(ta));
      });
      break;
    }
    case MessageType.Notification: {
      const n = t.notification;
      d.check('error code', m.code, n?.code);
      d.check('error subcode', m.subcode, n?.subcode);
      if (m.code === NotifCode.Cease && m.data.length > 0) {
        d.check('shutdown communication', new TextDecoder().decode(m.data.subarray(1, 1 + m.data[0])), n?.communication);
      }
      break;
    }
    case MessageType.RouteRefresh:
      d.check('route refresh', [m.afi, m.subtype, m.safi], t.routeRefresh && [t.routeRefresh.afi, t.routeRefresh.subtype, t.routeRefresh.safi]);
      break;
    case MessageType.Keepalive:
      break;
  }
  return d.lines;
}

/** Differences over a whole capture: message count, then each message in order. */
function compareCapture(corpus: Entry[], bytes: Uint8Array[], report: TsharkReport): string[] {
  const lines: string[] = [];
  if (report.messages.length !== corpus.length) {
    lines.push(`tshark saw ${report.messages.length} BGP messages, we wrote ${corpus.length}`);
  }
  corpus.forEach((e, i) => {
    const t = report.messages[i];
    if (t) lines.push(...compareMessage(e, bytes[i], t));
  });
  return lines;
}

/** Warnings, errors and malformed packets: tshark's tree and its own tally must both be clean. */
function problems(report: TsharkReport): string {
  const listed = formatProblems(report);
  const tally = report.tally.warn + report.tally.error > 0 ? `tshark -z expert tally: ${JSON.stringify(report.tally)}` : '';
  return [listed, tally].filter((s) => s !== '').join('\n');
}

// ---------------------------------------------------------------- running tshark

interface Capture {
  corpus: Entry[];
  bytes: Uint8Array[];
  report: TsharkReport;
}

let dir = '';
let seq = 0;

/** Writes `messages` as a pcap (optionally damaged afterwards) and dissects it. */
async function dissect(
  messages: CapturedMessage[], plan: SegmentPlan, asnLen: 2 | 4, damagePcap?: (pcap: Uint8Array) => void,
): Promise<TsharkReport> {
  const pcap = bgpMessagesToPcap(messages, plan);
  damagePcap?.(pcap);
  const path = join(dir, `capture-${++seq}.pcap`);
  await writeFile(path, pcap);
  return dissectWithTshark(path, { asnLen });
}

async function capture(corpus: Entry[], plan: SegmentPlan, asnLen: 2 | 4): Promise<Capture> {
  const bytes = corpus.map(bytesOf);
  const report = await dissect(corpus.map((e, i) => ({ from: e.from, bytes: bytes[i] })), plan, asnLen);
  return { corpus, bytes, report };
}

/** Where the stream is cut: several messages in one segment, messages split across segments. */
function fourOctetPlan(): SegmentPlan {
  const c = fourOctetCorpus;
  return {
    coalesceWithNext: new Set([
      at(c, 'UPDATE IPv6 MP_UNREACH'),
      at(c, 'End-of-RIB IPv4'),
      at(c, 'ROUTE-REFRESH BoRR'),
      at(c, 'NOTIFICATION UPDATE error / malformed AS_PATH'),
    ]),
    splitAt: new Map([
      [at(c, 'UPDATE IPv4 with withdrawals, every attribute and many NLRI'), 101], // inside the attributes
      [at(c, 'ROUTE-REFRESH'), 7], // inside the marker
      [at(c, 'NOTIFICATION Cease / administrative shutdown with RFC 9003 communication'), 19], // right after the header
    ]),
  };
}

/** Offset of the (low) length octet of the first attribute of `type` in an encoded UPDATE. */
function attributeLengthOffset(msg: Uint8Array, type: number): number {
  const u16 = (i: number): number => (msg[i] << 8) | msg[i + 1];
  let i = 19;
  i += 2 + u16(i);
  const end = i + 2 + u16(i);
  i += 2;
  while (i < end) {
    const extended = (msg[i] & 0x10) !== 0;
    const len = extended ? u16(i + 2) : msg[i + 2];
    if (msg[i + 1] === type) return extended ? i + 3 : i + 2;
    i += (extended ? 4 : 3) + len;
  }
  throw new Error(`attribute ${type} not found`);
}

/** Offset of the TCP checksum of the first frame (the SYN) in a pcap from bgpMessagesToPcap. */
const FIRST_TCP_CHECKSUM_OFFSET = 24 + 16 + 14 + 20 + 16;

describe('independent check: tshark reads what the codec encodes', function () {
  this.timeout(60_000);
  let four: Capture;
  let two: Capture;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tortie-tshark-'));
    four = await capture(fourOctetCorpus, fourOctetPlan(), 4);
    two = await capture(
      twoOctetCorpus,
      { splitAt: new Map([[at(twoOctetCorpus, 'UPDATE with AS_TRANS, AS4_PATH and AS4_AGGREGATOR'), 40]]) },
      2,
    );
  });

  after(async () => {
    // TORTIE_KEEP_PCAP=1 keeps the captures for a look in Wireshark.
    if (process.env.TORTIE_KEEP_PCAP === '1') console.log(`    captures kept in ${dir}`);
    else if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  for (const [name, get] of [['4-octet AS session', () => four], ['2-octet AS session', () => two]] as const) {
    describe(name, () => {
      it('has no malformed packets and no expert warnings or errors', () => {
        const c = get();
        expect(problems(c.report), problems(c.report)).to.equal('');
        expect(c.report.malformedFrames).to.deep.equal([]);
      });

      it('sees exactly as many BGP messages as we wrote', () => {
        const c = get();
        expect(c.report.messages.map((m) => m.type)).to.deep.equal(c.corpus.map((e) => e.msg.type));
      });

      it('reads back every field we encoded', () => {
        const c = get();
        const diff = compareCapture(c.corpus, c.bytes, c.report);
        expect(diff, diff.join('\n')).to.deep.equal([]);
      });

      it('had to reassemble messages split across TCP segments', () => {
        expect(get().report.reassembledFrames).to.not.be.empty;
      });
    });
  }

  it('got several messages in one TCP segment', () => {
    const frames = four.report.messages.map((m) => m.frame);
    const shared = frames.filter((f, i) => frames.indexOf(f) !== i);
    expect(shared.length).to.be.at.least(4);
  });

  describe('the checker is live', () => {
    it('reports a corrupted attribute length as an error', async () => {
      const entry = fourOctetCorpus[at(fourOctetCorpus, 'UPDATE IPv4 with withdrawals, every attribute and many NLRI')];
      const damaged = bytesOf(entry).slice();
      damaged[attributeLengthOffset(damaged, AttrType.AsPath)] += 1;
      const report = await dissect([{ from: 'active', bytes: damaged }], {}, 4);
      expect(report.experts.filter((e) => e.severity === 'error' && e.layer === 'bgp')).to.not.be.empty;
      expect(problems(report)).to.not.equal('');
    });

    it('verifies TCP checksums', async () => {
      const report = await dissect(
        [{ from: 'active', bytes: bytesOf(fourOctetCorpus[0]) }], {}, 4, (pcap) => { pcap[FIRST_TCP_CHECKSUM_OFFSET] ^= 0xff; },
      );
      expect(report.experts.filter((e) => e.severity === 'error' && e.layer === 'tcp')).to.have.length(1);
    });

    it('notices values and counts that differ from what tshark read', () => {
      const rich = at(fourOctetCorpus, 'UPDATE IPv4 with withdrawals, every attribute and many NLRI');
      const wrong = four.corpus.map((e, i): Entry => {
        if (i === 0 && e.msg.type === MessageType.Open) return { ...e, msg: { ...e.msg, holdTimeSec: 91 } };
        if (i !== rich || e.msg.type !== MessageType.Update) return e;
        const attributes = e.msg.attributes.map((a) => (a.type === AttrType.NextHop ? { ...a, nextHop: '192.0.2.99' } : a));
        return { ...e, msg: { ...e.msg, attributes } };
      });
      const diff = compareCapture([...wrong, wrong[2]], [...four.bytes, four.bytes[2]], four.report);
      expect(diff).to.have.length(3);
      expect(diff[0]).to.match(/^tshark saw \d+ BGP messages, we wrote \d+$/);
      expect(diff[1]).to.contain('hold time: expected 91, tshark 90');
      expect(diff[2]).to.contain('attribute 3: expected "192.0.2.99", tshark "192.0.2.1"');
    });
  });
});
