// client.webhookCalls: listPagedIterator over several pages, find, resendWebhook.
import { collect, input, poll, run, unique } from './lib.mjs';

await run(async (client) => {
  const webhook = await client.webhooks.create({
    name: 'Client: resend',
    url: input.url,
    custom_payload: null,
    headers: {},
    events: [{ entity_type: 'item_type', event_types: ['create'] }],
    http_basic_user: null,
    http_basic_password: null,
  });
  for (const n of [1, 2, 3]) {
    await client.itemTypes.create({ name: `Resend ${n}`, api_key: unique(`resend${n}`) });
  }
  const mine = { filter: { fields: { webhook_id: { eq: webhook.id } } } };
  await poll(
    () => client.webhookCalls.list({ filter: { fields: { ...mine.filter.fields, status: { eq: 'success' } } } }),
    (calls) => calls.length >= 3,
  );
  const iterated = await collect(client.webhookCalls.listPagedIterator(mine, { perPage: 2 }));
  const found = await client.webhookCalls.find(iterated[0].id);
  const resent = await client.webhookCalls.resendWebhook(found);
  const after = await client.webhookCalls.find(found.id);
  return { webhook, iterated, found, resent: resent === undefined ? '<undefined>' : resent, after };
});
