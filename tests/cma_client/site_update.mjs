// client.site.update: the name.
import { run } from './lib.mjs';

await run(async (client) => {
  const before = await client.site.find();
  const updated = await client.site.update({ name: `Client site ${process.pid}` });
  const after = await client.site.find();
  return { before, updated, after };
});
