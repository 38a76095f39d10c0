// client.uploads.destroy, then find is a 404.
import { failure, input, run } from './lib.mjs';

await run(async (client) => {
  const created = await client.uploads.createFromLocalFile({ localPath: input.path });
  const destroyed = await client.uploads.destroy(created.id);
  const afterwards = await failure(client.uploads.find(created.id));
  return { created, destroyed, afterwards };
});
