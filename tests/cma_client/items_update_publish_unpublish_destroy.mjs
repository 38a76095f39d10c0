// client.items: update, publish, unpublish, destroy, on a model with drafts.
import { failure, run, unique } from './lib.mjs';

await run(async (client) => {
  const model = await client.itemTypes.create({ name: 'Lifecycle', api_key: unique('lifecycle'), draft_mode_active: true });
  await client.fields.create(model.id, { label: 'Title', api_key: 'title', field_type: 'string' });
  const created = await client.items.create({ item_type: { type: 'item_type', id: model.id }, title: 'Draft' });
  const updated = await client.items.update(created.id, { title: 'Changed' });
  const published = await client.items.publish(created.id);
  const republished = await client.items.update(created, { title: 'Changed again' });
  const unpublished = await client.items.unpublish(created.id);
  const destroyed = await client.items.destroy(created.id);
  const afterwards = await failure(client.items.find(created.id));
  return { model, created, updated, published, republished, unpublished, destroyed, afterwards };
});
