// client.fields: update, destroy, then the model has no fields and find is a 404.
import { failure, run, unique } from './lib.mjs';

await run(async (client) => {
  const model = await client.itemTypes.create({ name: 'Client field changes', api_key: unique('fchanges') });
  const created = await client.fields.create(model.id, { label: 'Title', api_key: 'title', field_type: 'string' });
  const updated = await client.fields.update(created.id, {
    label: 'Headline',
    hint: 'Shown in lists',
    validators: { required: {} },
  });
  const destroyed = await client.fields.destroy(created.id);
  const listed = await client.fields.list(model.id);
  const afterwards = await failure(client.fields.find(created.id));
  return { model, created, updated, destroyed, listed, afterwards };
});
