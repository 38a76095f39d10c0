// client.buildTriggers.trigger, then the CI reports a success to the trigger's
// webhook_url with a plain fetch and no API token.
import { input, run } from './lib.mjs';

await run(async (client) => {
  const created = await client.buildTriggers.create({
    name: 'Client: successful build',
    adapter: 'custom',
    adapter_settings: { trigger_url: input.trigger_url, headers: {} },
    frontend_url: null,
    autotrigger_on_scheduled_publications: false,
  });
  const triggered = await client.buildTriggers.trigger(created.id);
  const building = await client.buildTriggers.find(created.id);
  const response = await fetch(created.webhook_url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'success' }),
  });
  const report = { status: response.status, body: await response.text() };
  process.stderr.write(`[report] POST ${created.webhook_url}: ${report.status} ${report.body}\n`);
  const built = await client.buildTriggers.find(created.id);
  return { created, triggered: triggered ?? null, building, report, built };
});
