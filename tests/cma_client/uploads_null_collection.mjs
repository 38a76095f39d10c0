// An upload outside any collection, said outright: `upload_collection: null` is sent as
// `relationships: {upload_collection: {data: null}}`, on create and on update.
import { input, run } from './lib.mjs';

await run(async (client) => {
  const created = await client.uploads.createFromLocalFile({
    localPath: input.path,
    upload_collection: null,
  });
  const updated = await client.uploads.update(created.id, { upload_collection: null, notes: 'Loose' });
  return { created, updated };
});
