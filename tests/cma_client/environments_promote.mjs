// client.environments.promote: a fork becomes the primary, then the old primary is
// promoted back and the fork destroyed.
import { run } from './lib.mjs';

await run(async (client) => {
  const before = (await client.environments.list()).find((e) => e.meta && e.meta.primary);
  const source = before ? before.id : 'main';
  const forked = await client.environments.fork(source, { id: `client-promote-${process.pid}` });
  const promoted = await client.environments.promote(forked.id);
  const during = await client.environments.list();
  const restored = await client.environments.promote(source);
  const destroyed = await client.environments.destroy(forked.id);
  const after = await client.environments.list();
  return { source, forked, promoted, during, restored, destroyed, after };
});
