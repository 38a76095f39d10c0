// client.webhooks: update (a few attributes; the others stay), destroy, then find is a 404.
import { failure, input, run } from './lib.mjs';

await run(async (client) => {
  const created = await client.webhooks.create({
    name: 'Client: to update',
    url: input.url,
    custom_payload: null,
    headers: {},
    events: [{ entity_type: 'item', event_types: ['create'] }],
    http_basic_user: null,
    http_basic_password: null,
  });
  const updated = await client.webhooks.update(created.id, {
    name: 'Client: updated',
    custom_payload: '{"id": "{{entity.id}}"}',
    events: [{ entity_type: 'upload', event_types: ['create', 'delete'] }],
    enabled: false,
  });
  // The client accepts the object itself in place of its id.
  const destroyed = await client.webhooks.destroy(updated);
  const afterwards = await failure(client.webhooks.find(created.id));
  const listed = await client.webhooks.list();
  return { created, updated, destroyed, afterwards, listed_ids: listed.map((w) => w.id) };
});
