// New-connection rate client for bench:policy: opens TCP connections to
// host:port with `parallel` loops for `durationMs`, each connect waiting
// for the server's greeting and closing, and prints {"connections":n,"errors":e,"seconds":s}.
//   node conn-rate.mjs <host> <port> <durationMs> <parallel>
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const [host, portArg, durArg, parArg] = process.argv.slice(2);
const port = Number(portArg);
const durationMs = Number(durArg);
const parallel = Number(parArg);
let connections = 0;
let errors = 0;
const t0 = performance.now();
const end = t0 + durationMs;

function once() {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      s.destroy();
      if (ok) connections += 1;
      else errors += 1;
      resolve();
    };
    s.setTimeout(2000, () => finish(false));
    s.on('data', () => finish(true));
    s.on('end', () => finish(true));
    s.on('error', () => finish(false));
  });
}

async function loop() {
  while (performance.now() < end) await once();
}

await Promise.all(Array.from({ length: parallel }, loop));
process.stdout.write(`${JSON.stringify({ connections, errors, seconds: (performance.now() - t0) / 1000 })}\n`);
