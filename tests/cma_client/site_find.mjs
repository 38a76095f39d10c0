// client.site.find.
import { run } from './lib.mjs';

await run(async (client) => ({ found: await client.site.find() }));
