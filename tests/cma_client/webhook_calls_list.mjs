// client.webhookCalls.list: filters (ids, webhook_id, entity_type, event_type, status,
// created_at ranges), order_by and page; rawList for meta.total_count.
import { input, poll, run, unique } from './lib.mjs';

await run(async (client) => {
  const webhook = await client.webhooks.create({
    name: 'Client: calls',
    url: input.url,
    custom_payload: null,
    headers: {},
    events: [{ entity_type: 'item_type', event_types: ['create'] }],
    http_basic_user: null,
    http_basic_password: null,
  });
  const models = [];
  for (const n of [1, 2, 3]) {
    models.push(await client.itemTypes.create({ name: `Calls ${n}`, api_key: unique(`calls${n}`) }));
  }
  const mine = (fields = {}) => ({ webhook_id: { eq: webhook.id }, ...fields });
  const answered = await poll(
    () => client.webhookCalls.list({ filter: { fields: mine({ status: { eq: 'success' } }) } }),
    (calls) => calls.length >= 3,
  );
  const list = (query) => client.webhookCalls.list(query).then((calls) => calls.map((c) => c.id));
  const ascending = await list({ filter: { fields: mine() }, order_by: 'created_at_asc' });
  const [first, second] = ascending;
  return {
    webhook,
    models,
    answered,
    ascending,
    descending: await list({ filter: { fields: mine() }, order_by: 'created_at_desc' }),
    by_webhook_desc: await list({ filter: { fields: mine() }, order_by: 'webhook_id_desc' }),
    first_page: await list({
      filter: { fields: mine() },
      order_by: 'created_at_asc',
      page: { offset: 0, limit: 2 },
    }),
    second_page: await list({
      filter: { fields: mine() },
      order_by: 'created_at_asc',
      page: { offset: 2, limit: 2 },
    }),
    by_ids: await list({ filter: { ids: `${first},${second}` } }),
    by_kind: await list({
      filter: {
        fields: mine({ entity_type: { eq: 'item_type' }, event_type: { eq: 'create' } }),
      },
    }),
    other_kind: await list({ filter: { fields: mine({ event_type: { eq: 'delete' } }) } }),
    created_after_2000: await list({
      filter: { fields: mine({ created_at: { gt: '2000-01-01T00:00:00Z' } }) },
    }),
    created_before_2000: await list({
      filter: { fields: mine({ created_at: { lt: '2000-01-01T00:00:00Z' } }) },
    }),
    raw_page: await client.webhookCalls.rawList({
      filter: { fields: mine() },
      page: { offset: 0, limit: 1 },
    }),
  };
});
