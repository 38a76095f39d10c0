// client.environments: list, find (the primary environment).
import { run } from './lib.mjs';

await run(async (client) => {
  const listed = await client.environments.list();
  const primary = listed.find((environment) => environment.meta && environment.meta.primary);
  const found = await client.environments.find(primary ? primary.id : 'main');
  return { listed, found };
});
