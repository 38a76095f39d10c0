// client.uploads: find, list, update (author, copyright, notes, tags).
import { input, run } from './lib.mjs';

await run(async (client) => {
  const created = await client.uploads.createFromLocalFile({ localPath: input.path });
  const found = await client.uploads.find(created.id);
  const listed = await client.uploads.list();
  const updated = await client.uploads.update(created.id, {
    author: 'Grace Hopper',
    copyright: 'CC BY 4.0',
    notes: 'Updated by the CMA client',
    tags: ['updated'],
  });
  const after = await client.uploads.find(created.id);
  return { created, found, listed, updated, after };
});
