/**
 * A worker for store-local.test.ts: appends `count` unique tokens to the list
 * stored under one key, with compare-and-swap and retries, as a separate
 * process. Usage: store-local-worker.ts DIR KEY NAME COUNT
 *
 * An append is idempotent (a token already present is not added again), so a
 * write whose outcome is unknown can simply be retried after a fresh read.
 */
import { hasCode } from '../../lib/errors.js';
import { openLocalDatastore } from './store-local.js';

async function main(): Promise<void> {
  const [dir, key, name, countText] = process.argv.slice(2);
  const store = await openLocalDatastore(dir);
  let conflicts = 0;
  for (let i = 0; i < Number(countText); i++) {
    const token = `${name}-${i}`;
    for (;;) {
      const cur = await store.get(key);
      const list = (cur?.value as string[] | undefined) ?? [];
      if (list.includes(token)) break;
      try {
        if (cur === undefined) await store.create(key, [...list, token]);
        else await store.update(key, [...list, token], cur.revision);
        break;
      } catch (err) {
        if (!hasCode(err, 'ERR_DATASTORE_CONFLICT') && !hasCode(err, 'ERR_DATASTORE_UNAVAILABLE')) throw err;
        conflicts++;
      }
    }
  }
  process.stdout.write(`${JSON.stringify({ name, conflicts })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
