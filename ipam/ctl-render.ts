/**
 * How tortiectl prints IPAM: `ipam show`, `ipam check`, `ipam release`.
 * Tables by default; wide adds columns and sections; json/yaml print the API
 * objects unchanged (agent/ctl.ts).
 */
import { table } from '../agent/ctl.js';
import type { IpamCheckView, IpamReleaseResponse, IpamShowView } from './api-types.js';

function pct(n: number): string {
  return `${n.toFixed(n >= 10 || n === 0 ? 0 : 1)}%`;
}

export function renderIpamShow(v: IpamShowView, wide: boolean): string {
  const out: string[] = [];
  out.push(`Node ${v.node}; datastore ${v.datastore.kind} (${v.datastore.location}); strict affinity ${v.strictAffinity ? 'on (no borrowing)' : 'off (borrowing allowed)'}; ` +
    `release cooldown ${v.releaseCooldownSec}s; GC grace ${v.gcGraceSec}s\n`);
  if (v.pools.length === 0) {
    out.push('\nNo IP pools are configured (ipam.pools).\n');
  } else {
    const head = ['POOL', 'CIDR', 'BLOCK', 'STATE', 'BLOCKS', 'MINE', 'USED', 'UTIL'];
    if (wide) head.push('SELECTOR', 'ADDRESSES', 'RESERVED');
    out.push('\n' + table(head, v.pools.map((p) => {
      const state = p.disabled ? 'disabled' : !p.selectsThisNode ? 'not this node' : p.lastError !== undefined ? 'EXHAUSTED' : 'ok';
      const row = [p.name, p.cidr, `/${p.blockSize}`, state, `${p.blocks.claimed}/${p.blocks.total}`, String(p.blocks.thisNode),
        `${p.addresses.used}/${p.addresses.inClaimedBlocks}`, pct(p.blockUtilizationPct)];
      if (wide) row.push(p.nodeSelector, p.addresses.total, p.addresses.reserved);
      return row;
    })));
    for (const p of v.pools) {
      if (p.lastError !== undefined) out.push(`\nPool ${p.name} exhausted at ${p.lastError.at} (${p.lastError.code}):\n  ${p.lastError.message}\n`);
    }
  }
  if (v.blocks.length > 0) {
    const head = ['BLOCK', 'POOL', 'NODE', 'USED', 'FREE', 'COOLING', 'LENT OUT'];
    if (wide) head.push('RESERVED', 'CLAIMED');
    out.push('\n' + table(head, v.blocks.map((b) => {
      const row = [b.cidr, b.orphanPool === true ? `${b.pool} (not configured)` : b.pool, b.node ?? '(none)', `${b.used}/${b.size}`, String(b.free), String(b.cooling), String(b.lentOut)];
      if (wide) row.push(String(b.reserved), b.claimedAt);
      return row;
    })));
  }
  if (v.borrowed.length > 0) {
    out.push('\nBorrowed addresses (advertised as host routes by the node using them):\n' +
      table(['ADDRESS', 'BLOCK', 'BLOCK NODE', 'USED ON', 'HANDLE'], v.borrowed.map((b) => [b.address, b.block, b.blockNode ?? '(none)', b.node, b.handle])));
  }
  if (wide) {
    if (v.nodes.length > 0) out.push('\n' + table(['NODE', 'BLOCKS', 'LAST SEEN'], v.nodes.map((n) => [n.name, String(n.blocks), n.lastSeen])));
    if (v.reservations.length > 0) out.push(`\nReservations: ${v.reservations.join(', ')}\n`);
    if (v.originated.length > 0) out.push(`\nAdvertised by ${v.node}: ${v.originated.join(', ')}\n`);
    const s = v.stats;
    out.push(`\nAllocator: ${s.batches} batches, ${s.writes} block writes, ${s.conflicts} CAS conflicts, ${s.unknownOutcomes} unknown outcomes, ${s.retries} retries, ${s.lists} full reads\n`);
    if (v.allocations !== undefined && v.allocations.length > 0) {
      out.push('\n' + table(['ADDRESS', 'HANDLE', 'NODE', 'POD', 'NETWORK', 'SINCE'], v.allocations.map((a) => [
        a.address, a.handle, a.node, a.pod !== undefined ? `${a.namespace ?? ''}/${a.pod}` : '', a.network ?? '', a.assignedAt,
      ])));
    }
  }
  return out.join('');
}

export function renderIpamCheck(v: IpamCheckView): string {
  const basis = v.basis === 'attachments' ? 'the given attachments' : 'each allocation\'s network namespace';
  const nodes = v.nodeBasis === 'cluster' ? 'the cluster\'s node list' : 'node records';
  const out: string[] = [
    `${v.ok ? 'OK' : 'PROBLEMS FOUND'}: ${v.allocations} allocation${v.allocations === 1 ? '' : 's'} checked on ${v.checkedAt} (liveness from ${basis}, nodes from ${nodes}); ` +
    `${v.leaks.length} leak${v.leaks.length === 1 ? '' : 's'}, ${v.orphanedBlocks.length} orphaned block${v.orphanedBlocks.length === 1 ? '' : 's'}` +
    `${v.unknown > 0 ? `, ${v.unknown} of ${v.node}'s allocations undecided (no netns recorded)` : ''}\n`,
  ];
  if (v.leaks.length > 0) {
    out.push('\nLeaked addresses:\n' + table(['ADDRESS', 'HANDLE', 'NODE', 'POD', 'SINCE', 'WHY'], v.leaks.map((l) => [
      l.address, l.handle, l.node, l.pod !== undefined ? `${l.namespace ?? ''}/${l.pod}` : '', l.assignedAt, l.reason,
    ])));
    out.push('Release one with: tortiectl ipam release --ip ADDRESS (or run CNI GC on the node)\n');
  }
  if (v.orphanedBlocks.length > 0) {
    out.push('\nOrphaned blocks:\n' + table(['BLOCK', 'NODE', 'USED', 'WHY'], v.orphanedBlocks.map((b) => [b.cidr, b.node ?? '(none)', String(b.used), b.reason])));
  }
  return out.join('');
}

export function renderReleased(r: IpamReleaseResponse): string {
  return r.released.map((x) => `released ${x.address} (handle ${x.handle}, block ${x.block}, node ${x.node})`).join('\n') + '\n';
}
