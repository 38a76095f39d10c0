// client.environments: fork the primary, rename the fork, find it, destroy it.
import { failure, run } from './lib.mjs';

await run(async (client) => {
  const primary = (await client.environments.list()).find((e) => e.meta && e.meta.primary);
  const source = primary ? primary.id : 'main';
  const forked = await client.environments.fork(source, { id: `client-fork-${process.pid}` });
  const renamed = await client.environments.rename(forked.id, { id: `client-renamed-${process.pid}` });
  const found = await client.environments.find(renamed.id);
  const destroyed = await client.environments.destroy(renamed.id);
  const afterwards = await failure(client.environments.find(renamed.id));
  const listed = await client.environments.list();
  return { source, forked, renamed, found, destroyed, afterwards, listed_ids: listed.map((e) => e.id) };
});
