// client.itemTypes: update, destroy, then find is a 404.
import { failure, run, unique } from './lib.mjs';

await run(async (client) => {
  const created = await client.itemTypes.create({ name: 'Client to change', api_key: unique('change') });
  const updated = await client.itemTypes.update(created.id, {
    name: 'Client changed',
    draft_mode_active: true,
    hint: 'Changed by the CMA client',
  });
  const destroyed = await client.itemTypes.destroy(created.id);
  const afterwards = await failure(client.itemTypes.find(created.id));
  return { created, updated, destroyed, afterwards };
});
