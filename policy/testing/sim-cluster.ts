/**
 * A compiled cluster loaded into a FakeNetfilter, probed packet by packet:
 * "can x/a reach y/b on TCP 80?" answered by walking the rules, with no
 * root and no kernel. Used by the semantics tables and by the conformance
 * suite's offline check of its expectations.
 */
import { familyOf, type Family } from '../compile/cidr.js';
import { compile, type CompileOptions, type Compiled } from '../compile/compile.js';
import type { ClusterState } from '../compile/model.js';
import { fullRestoreText, fullSetsText } from '../compile/render.js';
import { FakeNetfilter } from './fake-netfilter.js';
import { simulate, type CtState, type SimResult } from './packet-sim.js';

/** The node's uplink in simulated packets. */
export const UPLINK = 'eth0';

/** A pod key (`ns/name`), an address, or 'node' (this node's own address). */
export type Endpoint = string | { ip: string };

export interface ProbeOptions {
  proto?: 'tcp' | 'udp' | 'sctp' | 'icmp';
  port?: number;
  family?: Family;
  ct?: CtState;
  /** Source address override (spoofing tests). */
  src?: string;
}

export function loadCompiled(nf: FakeNetfilter, c: Compiled): void {
  nf.ipsetRestore(fullSetsText(c.sets), true);
  for (const fam of c.families) {
    const t = c.tables.get(fam);
    if (t) nf.restore(fam, fullRestoreText(t));
  }
}

export class SimCluster {
  readonly nf = new FakeNetfilter();
  readonly compiled: Compiled;

  constructor(
    readonly state: ClusterState,
    readonly opts: CompileOptions & { nodeAddresses: readonly string[] },
  ) {
    this.compiled = compile(state, opts);
    loadCompiled(this.nf, this.compiled);
  }

  private ipOf(e: Endpoint, family: Family): string {
    if (e === 'node') {
      const a = this.opts.nodeAddresses.find((x) => familyOf(x) === family);
      if (!a) throw new Error(`no IPv${family} node address`);
      return a;
    }
    if (typeof e !== 'string') return e.ip;
    const pod = this.compiled.resolved.pods.get(e);
    const ip = pod?.ipValues.find((x) => x.family === family)?.text;
    if (!ip) throw new Error(`no IPv${family} address for ${e}`);
    return ip;
  }

  private ifOf(e: Endpoint): string | undefined {
    if (typeof e !== 'string' || e === 'node') return undefined;
    return this.compiled.resolved.pods.get(e)?.ifName;
  }

  /** What happens to the first packet of a connection from `from` to `to`. */
  probe(from: Endpoint, to: Endpoint, o: ProbeOptions = {}): SimResult {
    const family = o.family ?? 4;
    const proto = o.proto ?? 'tcp';
    const src = o.src ?? this.ipOf(from, family);
    const dst = this.ipOf(to, family);
    const pkt = {
      family,
      src,
      dst,
      proto: proto === 'icmp' && family === 6 ? ('ipv6-icmp' as const) : proto,
      ...(proto === 'icmp' ? {} : { dport: o.port ?? 80 }),
      ct: o.ct ?? 'NEW',
    };
    if (from === 'node') return simulate(this.nf, 'OUTPUT', { ...pkt, outIf: this.ifOf(to) ?? UPLINK });
    if (to === 'node') return simulate(this.nf, 'INPUT', { ...pkt, inIf: this.ifOf(from) ?? UPLINK });
    return simulate(this.nf, 'FORWARD', { ...pkt, inIf: this.ifOf(from) ?? UPLINK, outIf: this.ifOf(to) ?? UPLINK });
  }

  allowed(from: Endpoint, to: Endpoint, o: ProbeOptions = {}): boolean {
    return this.probe(from, to, o).verdict === 'ACCEPT';
  }
}
