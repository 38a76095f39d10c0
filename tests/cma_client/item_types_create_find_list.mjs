// client.itemTypes: create (with some of the CMA's optional attributes), find, list.
import { run, unique } from './lib.mjs';

await run(async (client) => {
  const created = await client.itemTypes.create({
    name: 'Client article',
    api_key: unique('article'),
    draft_mode_active: true,
    sortable: false,
    collection_appearance: 'table',
    hint: 'Made by the CMA client',
    // A null relationship: the client sends `relationships: {workflow: {data: null}}`.
    workflow: null,
  });
  const found = await client.itemTypes.find(created.id);
  const listed = await client.itemTypes.list();
  return { created, found, listed };
});
