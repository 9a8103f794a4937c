/** tortiectl entry point. */
import { runCtl } from './ctl.js';

runCtl(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
}).then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  process.stderr.write(`tortiectl: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
