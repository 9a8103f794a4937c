/**
 * The two-namespace topology the kernel-route tests and the fixture
 * capture use: `node` (192.0.2.1, 2001:db8:1::1) on a veth to `peer`
 * (192.0.2.2 and .3, 2001:db8:1::2 and ::3), so that next hops resolve.
 * On failure everything built so far is torn down before rethrowing.
 */
import { Topology, type Netns } from './netns.js';

export interface NodePeer {
  topo: Topology;
  node: Netns;
  peer: Netns;
}

export async function buildNodePeer(): Promise<NodePeer> {
  const topo = new Topology();
  try {
    const node = await topo.addNamespace('node');
    const peer = await topo.addNamespace('peer');
    await topo.link(node, peer, {
      aName: 've0a',
      bName: 've0b',
      aAddresses: ['192.0.2.1/24', '2001:db8:1::1/64'],
      bAddresses: ['192.0.2.2/24', '2001:db8:1::2/64'],
    });
    await peer.ip(['addr', 'add', '192.0.2.3/24', 'dev', 've0b']);
    await peer.ip(['addr', 'add', '2001:db8:1::3/64', 'dev', 've0b', 'nodad']);
    return { topo, node, peer };
  } catch (err) {
    await topo.destroy();
    throw err;
  }
}
