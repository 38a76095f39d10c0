// client.buildTriggers: create (custom adapter), find, list, update.
import { input, run } from './lib.mjs';

await run(async (client) => {
  const created = await client.buildTriggers.create({
    name: 'Client: custom build',
    adapter: 'custom',
    adapter_settings: { trigger_url: input.trigger_url, headers: { 'X-Build': 'client' } },
    frontend_url: 'https://www.example.com/',
    autotrigger_on_scheduled_publications: false,
    indexing_enabled: false,
    enabled: true,
  });
  const found = await client.buildTriggers.find(created.id);
  const listed = await client.buildTriggers.list();
  const updated = await client.buildTriggers.update(created.id, {
    name: 'Client: renamed build',
    adapter_settings: { trigger_url: input.trigger_url, headers: { 'X-Build': 'renamed' } },
    frontend_url: null,
    autotrigger_on_scheduled_publications: true,
  });
  return { created, found, listed, updated };
});
