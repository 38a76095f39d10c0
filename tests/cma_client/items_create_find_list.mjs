// client.items: create (the model as a relationship), find, list filtered by model id or api_key.
import { run, unique } from './lib.mjs';

async function modelWithTitle(client, name) {
  const model = await client.itemTypes.create({ name, api_key: unique(name.toLowerCase()), draft_mode_active: true });
  await client.fields.create(model.id, { label: 'Title', api_key: 'title', field_type: 'string' });
  return model;
}

await run(async (client) => {
  const posts = await modelWithTitle(client, 'Post');
  const pages = await modelWithTitle(client, 'Page');
  const post = await client.items.create({ item_type: { type: 'item_type', id: posts.id }, title: 'Hello' });
  const page = await client.items.create({ item_type: pages, title: 'About' });
  const found = await client.items.find(post.id);
  return {
    posts,
    pages,
    post,
    page,
    found,
    by_api_key: await client.items.list({ filter: { type: posts.api_key } }),
    by_id: await client.items.list({ filter: { type: pages.id } }),
    all_ids: (await client.items.list()).map((item) => item.id),
  };
});
