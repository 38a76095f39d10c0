// client.fields: create on a model, list the model's fields, find; the model lists them.
import { run, unique } from './lib.mjs';

await run(async (client) => {
  const model = await client.itemTypes.create({ name: 'Client fields', api_key: unique('fields') });
  const title = await client.fields.create(model.id, {
    label: 'Title',
    api_key: 'title',
    field_type: 'string',
    validators: { required: {} },
    hint: 'What the record is called',
    fieldset: null, // sent as `relationships: {fieldset: {data: null}}`
  });
  // The client accepts the model object itself in place of its id.
  const body = await client.fields.create(model, {
    label: 'Body',
    api_key: 'body',
    field_type: 'text',
    localized: false,
  });
  const listed = await client.fields.list(model.id);
  const found = await client.fields.find(title.id);
  const modelAfter = await client.itemTypes.find(model.id);
  return { model, title, body, listed, found, model_after: modelAfter };
});
