/**
 * How test pods get their network: the one function to switch between
 * wiring implementations. Both produce the routed layout of the design
 * (no bridge):
 *
 *   node netns                                  pod netns
 *   <prefix><hash> (no address, proxy_arp,      eth0  podIP/32, podIP6/128
 *     proxy_delay 0, forwarding)  <── veth ──>        169.254.1.1 dev eth0 scope link
 *   podIP/32 dev <veth> scope link                    default via 169.254.1.1
 *   podIP6/128 dev <veth>                             default via <host veth link-local> (v6)
 *
 * - `plainVethWiring` builds it with `ip -batch` (the stand-in until the
 *   CNI plugin works here);
 * - `cniWiring` runs the tortie CNI plugin (dist/bin/tortie) ADD with the
 *   reference `static` IPAM plugin, so the pod gets exactly the model's
 *   addresses, and its host veth name comes from the plugin itself.
 * Select with TORTIE_NETPOL_WIRING=plain|cni (default: cni when
 * dist/bin/tortie answers VERSION with a real ADD, else plain).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TortieError } from '../../lib/errors.js';
import { run, type Netns, type Topology } from '../support/netns.js';
import { hostIfName, NODE_IP4, NODE_IP6 } from './model.js';

export interface PodSpec {
  readonly key: string;
  readonly ip4: string;
  readonly ip6?: string;
}

export interface WiredPod {
  readonly key: string;
  readonly netns: Netns;
  readonly hostIf: string;
  readonly ips: readonly string[];
}

export interface PodWiring {
  readonly name: string;
  wire(node: Netns, pod: Netns, spec: PodSpec): Promise<WiredPod>;
}

const HOST_LINK_LOCAL = 'fe80::1';

/** A node namespace that routes: forwarding, its own address on lo, and a default route (proxy ARP needs one). */
export async function prepareNode(topo: Topology, label = 'node'): Promise<Netns> {
  const node = await topo.addNamespace(label);
  await node.sysctl({ 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' });
  const batch = [
    `addr add ${NODE_IP4}/32 dev lo`,
    `addr add ${NODE_IP6}/128 dev lo`,
    // An uplink whose both ends stay in this namespace: the default route the
    // 169.254.1.1 proxy-ARP answer needs, without anything leaving the namespace.
    'link add up0 type veth peer name up1',
    'link set up0 up',
    'link set up1 up',
    'route add default dev up0',
    'route add ::/0 dev up0',
  ];
  await node.ip(['-batch', '-'], { input: `${batch.join('\n')}\n` });
  return node;
}

export const plainVethWiring: PodWiring = {
  name: 'plain veth (routed layout, CNI naming)',
  async wire(node: Netns, pod: Netns, spec: PodSpec): Promise<WiredPod> {
    const hostIf = hostIfName(spec.key);
    await node.ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.name]);
    await node.sysctl({
      [`net.ipv4.conf.${hostIf}.proxy_arp`]: '1',
      [`net.ipv4.neigh.${hostIf}.proxy_delay`]: '0',
      [`net.ipv6.conf.${hostIf}.accept_dad`]: '0',
    });
    const hostBatch = [
      `link set ${hostIf} up`,
      `addr add ${HOST_LINK_LOCAL}/64 dev ${hostIf} nodad`,
      `route add ${spec.ip4}/32 dev ${hostIf} scope link`,
      ...(spec.ip6 ? [`route add ${spec.ip6}/128 dev ${hostIf}`] : []),
    ];
    await node.ip(['-batch', '-'], { input: `${hostBatch.join('\n')}\n` });
    await pod.sysctl({ 'net.ipv6.conf.eth0.accept_dad': '0' });
    const podBatch = [
      'link set eth0 up',
      `addr add ${spec.ip4}/32 dev eth0`,
      'route add 169.254.1.1 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0',
      ...(spec.ip6 ? [`addr add ${spec.ip6}/128 dev eth0 nodad`, `route add ::/0 via ${HOST_LINK_LOCAL} dev eth0`] : []),
    ];
    await pod.ip(['-batch', '-'], { input: `${podBatch.join('\n')}\n` });
    return { key: spec.key, netns: pod, hostIf, ips: spec.ip6 ? [spec.ip4, spec.ip6] : [spec.ip4] };
  },
};

const CNI_BIN = join(process.cwd(), 'dist', 'bin', 'tortie');
const REFERENCE_PLUGINS = '/usr/lib/cni';

/** The tortie CNI plugin, with `static` IPAM so the model's addresses are kept. */
export function cniWiring(bin = CNI_BIN): PodWiring {
  return {
    name: `tortie CNI plugin (${bin}) with static IPAM`,
    async wire(node: Netns, pod: Netns, spec: PodSpec): Promise<WiredPod> {
      const [namespace, podName] = spec.key.split('/');
      const addresses = [{ address: `${spec.ip4}/32` }, ...(spec.ip6 ? [{ address: `${spec.ip6}/128` }] : [])];
      const conf = { cniVersion: '1.0.0', name: 'tortie-netpol', type: 'tortie', vethPrefix: 'tortie', ipam: { type: 'static', addresses } };
      const containerId = `netpol${spec.key.replace('/', '')}${pod.name}`;
      const env = {
        PATH: `${join(process.cwd(), 'dist', 'bin')}:${REFERENCE_PLUGINS}:/usr/sbin:/usr/bin:/sbin:/bin`,
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: containerId,
        CNI_NETNS: `/var/run/netns/${pod.name}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH: `${join(process.cwd(), 'dist', 'bin')}:${REFERENCE_PLUGINS}`,
        CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${podName};K8S_POD_INFRA_CONTAINER_ID=${containerId}`,
      };
      // The plugin configures the host side in the namespace it runs in: run it inside the node.
      const res = await run('ip', ['netns', 'exec', node.name, bin], { input: JSON.stringify(conf), env, timeoutMs: 20_000 }).catch((err: unknown) => {
        throw new TortieError('ERR_TEST_CNI', `CNI ADD for ${spec.key} failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      const result = JSON.parse(res.stdout) as { interfaces?: { name: string; sandbox?: string }[] };
      const hostIf = result.interfaces?.find((i) => !i.sandbox)?.name ?? hostIfName(spec.key);
      return { key: spec.key, netns: pod, hostIf, ips: spec.ip6 ? [spec.ip4, spec.ip6] : [spec.ip4] };
    },
  };
}

/**
 * True when dist/bin/tortie exists and implements ADD: asked to ADD with
 * no environment, the real plugin answers a spec error about the missing
 * variables; the placeholder it replaced said "placeholder".
 */
export async function cniPluginUsable(bin = CNI_BIN): Promise<boolean> {
  if (!existsSync(bin)) return false;
  const r = await run(bin, [], { env: { PATH: '/usr/bin:/bin', CNI_COMMAND: 'ADD' }, input: '{"cniVersion":"1.0.0","name":"probe","type":"tortie"}', timeoutMs: 10_000 }).catch((err: unknown) => err);
  const out = r && typeof r === 'object' && 'stdout' in r ? String(r.stdout) : '';
  return out.includes('"code"') && !/placeholder/i.test(out);
}

/** The wiring to use: TORTIE_NETPOL_WIRING=plain|cni, else cni when usable. */
export async function chooseWiring(): Promise<PodWiring> {
  const want = process.env.TORTIE_NETPOL_WIRING;
  if (want === 'plain') return plainVethWiring;
  if (want === 'cni') return cniWiring();
  return (await cniPluginUsable()) ? cniWiring() : plainVethWiring;
}
