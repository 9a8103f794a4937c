// One of these runs inside each test pod's network namespace. It is the
// pod's workload (TCP and UDP servers on the given ports, answering with
// the pod's name) and the pod's prober: JSON lines on stdin ask it to try
// connections, JSON lines on stdout give the outcome of each.
//
//   node pod-agent.mjs <pod-name> <tcp ports,comma-separated> <udp ports>
//   stdin:  {"id":1,"probes":[{"host":"198.51.100.2","port":80,"proto":"tcp","timeoutMs":500,"localPort":20001}]}
//   stdout: {"id":1,"results":["ok:y/b","timeout","refused","unavailable"]}
//
// SCTP: Node has no SCTP sockets (and this kernel has none); such probes
// answer "unavailable" at once, never "ok".
import dgram from 'node:dgram';
import net from 'node:net';
import readline from 'node:readline';

const [name, tcpArg = '', udpArg = ''] = process.argv.slice(2);
const tcpPorts = tcpArg.split(',').filter(Boolean).map(Number);
const udpPorts = udpArg.split(',').filter(Boolean).map(Number);
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

let pending = tcpPorts.length + udpPorts.length;
const listening = () => {
  pending -= 1;
  if (pending === 0) out({ ready: name });
};

for (const port of tcpPorts) {
  const server = net.createServer((sock) => {
    sock.on('error', () => undefined);
    sock.end(`${name}\n`);
  });
  server.on('error', (err) => out({ fatal: `tcp ${port}: ${err.message}` }));
  server.listen({ port, host: '::', ipv6Only: false }, listening);
}
for (const port of udpPorts) {
  const sock = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  sock.on('message', (_msg, rinfo) => sock.send(name, rinfo.port, rinfo.address));
  sock.on('error', (err) => out({ fatal: `udp ${port}: ${err.message}` }));
  sock.bind({ port, address: '::' }, listening);
}
if (pending === 0) out({ ready: name });

function probeTcp(p) {
  return new Promise((resolve) => {
    let done = false;
    let got = '';
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const sock = net.connect({ host: p.host, port: p.port, ...(p.localPort ? { localPort: p.localPort } : {}) });
    const timer = setTimeout(() => finish('timeout'), p.timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d) => {
      got += d;
      if (got.includes('\n')) finish(`ok:${got.trim()}`);
    });
    sock.on('end', () => finish(got ? `ok:${got.trim()}` : 'closed'));
    sock.on('error', (err) => finish(err.code === 'ECONNREFUSED' ? 'refused' : `error:${err.code ?? err.message}`));
  });
}

function probeUdp(p) {
  return new Promise((resolve) => {
    let done = false;
    const sock = dgram.createSocket(p.host.includes(':') ? 'udp6' : 'udp4');
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolve(r);
    };
    const timer = setTimeout(() => finish('timeout'), p.timeoutMs);
    sock.on('message', (msg) => finish(`ok:${msg.toString()}`));
    sock.on('error', (err) => finish(err.code === 'ECONNREFUSED' ? 'refused' : `error:${err.code ?? err.message}`));
    sock.bind(p.localPort ?? 0, () => {
      sock.connect(p.port, p.host, (err) => {
        if (err) return finish(`error:${err.code ?? err.message}`);
        sock.send('probe', (e) => {
          if (e) finish(`error:${e.code ?? e.message}`);
        });
      });
    });
  });
}

function probe(p) {
  if (p.proto === 'tcp') return probeTcp(p);
  if (p.proto === 'udp') return probeUdp(p);
  return Promise.resolve('unavailable');
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    out({ error: 'bad request' });
    return;
  }
  Promise.all(req.probes.map(probe)).then((results) => out({ id: req.id, results }));
});
rl.on('close', () => process.exit(0));
