// client.webhooks: create (every attribute of WebhookCreateSchema), find, list.
import { input, run } from './lib.mjs';

await run(async (client) => {
  const created = await client.webhooks.create({
    name: 'Client: every attribute',
    url: input.url,
    custom_payload: null,
    headers: { 'X-From-Client': 'yes' },
    events: [
      { entity_type: 'item', event_types: ['create', 'update'] },
      {
        entity_type: 'environment',
        event_types: ['create'],
        filters: [{ entity_type: 'environment_type', entity_ids: ['sandbox'] }],
      },
    ],
    http_basic_user: 'user',
    http_basic_password: 'secret',
    enabled: false,
    payload_api_version: '3',
    nested_items_in_payload: true,
    auto_retry: false,
  });
  const found = await client.webhooks.find(created.id);
  const listed = await client.webhooks.list();
  return { created, found, listed };
});
