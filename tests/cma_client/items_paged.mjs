// client.items: listPagedIterator over three pages (5 records, perPage 2), and list's page param.
import { collect, run, unique } from './lib.mjs';

await run(async (client) => {
  const model = await client.itemTypes.create({ name: 'Paged', api_key: unique('paged') });
  await client.fields.create(model.id, { label: 'Title', api_key: 'title', field_type: 'string' });
  const created = [];
  for (const n of [1, 2, 3, 4, 5]) {
    created.push(await client.items.create({ item_type: { type: 'item_type', id: model.id }, title: `Record ${n}` }));
  }
  const filter = { type: model.api_key };
  const iterated = await collect(client.items.listPagedIterator({ filter }, { perPage: 2 }));
  return {
    created_ids: created.map((item) => item.id),
    iterated,
    last_page: await client.items.list({ filter, page: { offset: 4, limit: 2 } }),
    raw_page: await client.items.rawList({ filter, page: { offset: 2, limit: 2 } }),
  };
});
