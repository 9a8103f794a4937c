/**
 * A scriptable BGP peer for robustness tests, run inside a namespace and
 * driven with JSON lines on stdin (one reply line per command, with its
 * `id`); what it sees arrives as event lines on stdout.
 *
 *   {"id":1,"cmd":"session","host":"192.0.2.1","localAddress":"192.0.2.2","asn":65010,"routerId":"192.0.2.2","holdTimeSec":9}
 *       connects, sends OPEN (IPv4 + IPv6 unicast, 4-octet AS), answers the
 *       peer's OPEN with KEEPALIVE and keeps sending one every second.
 *       Events: {"event":"established"}, {"event":"notification","code","subcode"},
 *       {"event":"update","withdrawn":n,"nlri":n}, {"event":"closed"}.
 *   {"id":2,"cmd":"send","hex":"ffff…"}     writes raw bytes on the session
 *   {"id":3,"cmd":"close"}                  drops the session (no NOTIFICATION)
 *   {"id":4,"cmd":"flood","host","port","sources":[…],"count":1000,"concurrency":100,"timeoutMs":5000}
 *       opens `count` TCP connections (source addresses round-robin) and
 *       classifies each by what came back before the close; replies with
 *       the tally.
 * Uses tortie's codec to frame and decode what it receives.
 */
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import {
  Afi, CapabilityCode, decodeMessage, encodeMessage, keepaliveBytes, makeOpen, MessageFramer, MessageType, Safi,
  type CodecOptions,
} from '../../../bgp/codec/index.js';

const RX: CodecOptions = { fourOctetAs: true, extendedMessage: true, addPath: new Set(), external: true };
const TX: CodecOptions = { fourOctetAs: true, extendedMessage: false, addPath: new Set(), external: true };

function emit(o: object): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

interface SessionCmd {
  host: string;
  port?: number;
  localAddress?: string;
  asn: number;
  routerId: string;
  holdTimeSec: number;
}

let session: Socket | undefined;
let keepalive: NodeJS.Timeout | undefined;

function startSession(c: SessionCmd): void {
  session?.destroy();
  const s = connect({ host: c.host, port: c.port ?? 179, ...(c.localAddress ? { localAddress: c.localAddress } : {}) });
  session = s;
  const framer = new MessageFramer({ extendedMessage: true });
  let gotOpen = false;
  let up = false;
  s.on('connect', () => {
    const open = makeOpen({
      myAs: c.asn > 0xffff ? 23456 : c.asn,
      holdTimeSec: c.holdTimeSec,
      bgpId: c.routerId,
      capabilities: [
        { code: CapabilityCode.Multiprotocol, afi: Afi.Ipv4, safi: Safi.Unicast },
        { code: CapabilityCode.Multiprotocol, afi: Afi.Ipv6, safi: Safi.Unicast },
        { code: CapabilityCode.RouteRefresh },
        { code: CapabilityCode.FourOctetAs, asn: c.asn },
      ],
    });
    s.write(encodeMessage(open, TX));
  });
  s.on('data', (chunk: Buffer) => {
    let frames: Uint8Array[];
    try {
      frames = framer.push(chunk);
    } catch (err) {
      emit({ event: 'decode-error', error: (err as Error).message });
      return;
    }
    for (const f of frames) {
      try {
        const m = decodeMessage(f, RX);
        if (m.type === MessageType.Open) {
          gotOpen = true;
          s.write(keepaliveBytes());
          keepalive = setInterval(() => s.write(keepaliveBytes()), 1000);
        } else if (m.type === MessageType.Keepalive && gotOpen && !up) {
          up = true;
          emit({ event: 'established' });
        } else if (m.type === MessageType.Notification) {
          emit({ event: 'notification', code: m.code, subcode: m.subcode });
        } else if (m.type === MessageType.Update) {
          emit({ event: 'update', withdrawn: m.withdrawn.length, nlri: m.nlri.length });
        }
      } catch (err) {
        emit({ event: 'decode-error', error: (err as Error).message });
      }
    }
  });
  s.on('error', (err) => emit({ event: 'error', error: err.message }));
  s.on('close', () => {
    if (keepalive) clearInterval(keepalive);
    keepalive = undefined;
    if (session === s) session = undefined;
    emit({ event: 'closed' });
  });
}

interface FloodCmd {
  host: string;
  port?: number;
  sources: string[];
  count: number;
  concurrency: number;
  timeoutMs: number;
}

type Outcome = 'rejected' | 'other-notification' | 'other-message' | 'closed' | 'refused' | 'error' | 'timeout';

/** One connection: what came back before the close. */
function probe(host: string, port: number, localAddress: string, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const framer = new MessageFramer();
    let outcome: Outcome | undefined;
    const s = connect({ host, port, localAddress });
    const timer = setTimeout(() => {
      outcome ??= 'timeout';
      s.destroy();
    }, timeoutMs);
    s.on('data', (chunk: Buffer) => {
      try {
        for (const f of framer.push(chunk)) {
          const m = decodeMessage(f, RX);
          if (outcome) continue;
          if (m.type === MessageType.Notification) outcome = m.code === 6 && m.subcode === 5 ? 'rejected' : 'other-notification';
          else outcome = 'other-message';
        }
      } catch {
        outcome ??= 'error';
      }
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      outcome ??= err.code === 'ECONNREFUSED' ? 'refused' : 'error';
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(outcome ?? 'closed');
    });
  });
}

async function flood(c: FloodCmd): Promise<Record<Outcome, number>> {
  const tally: Record<Outcome, number> = {
    'rejected': 0, 'other-notification': 0, 'other-message': 0, 'closed': 0, 'refused': 0, 'error': 0, 'timeout': 0,
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < c.count) {
      const i = next++;
      const outcome = await probe(c.host, c.port ?? 179, c.sources[i % c.sources.length], c.timeoutMs);
      tally[outcome]++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(c.concurrency, c.count) }, () => worker()));
  return tally;
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let cmd: { id?: number; cmd?: string; hex?: string } & Partial<SessionCmd> & Partial<FloodCmd>;
  try {
    cmd = JSON.parse(line) as typeof cmd;
  } catch {
    emit({ ok: false, error: 'bad JSON' });
    return;
  }
  const reply = (o: object): void => emit({ id: cmd.id, ok: true, ...o });
  switch (cmd.cmd) {
    case 'session':
      startSession(cmd as SessionCmd);
      reply({});
      break;
    case 'send':
      if (!session) {
        emit({ id: cmd.id, ok: false, error: 'no session' });
        break;
      }
      session.write(Buffer.from(cmd.hex ?? '', 'hex'), () => reply({}));
      break;
    case 'close':
      session?.destroy();
      reply({});
      break;
    case 'flood':
      void flood(cmd as FloodCmd).then((tally) => reply({ tally }));
      break;
    default:
      emit({ id: cmd.id, ok: false, error: `unknown command ${String(cmd.cmd)}` });
  }
});
rl.on('close', () => process.exit(0));
emit({ event: 'ready' });
