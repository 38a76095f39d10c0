// A failed build reported to webhook_url; a report to a URL with a wrong secret is
// refused; then client.buildTriggers.destroy.
import { failure, input, run } from './lib.mjs';

async function report(url, status) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status }),
  });
  const answer = { status: response.status, body: await response.text() };
  process.stderr.write(`[report] POST ${url} ${status}: ${answer.status} ${answer.body}\n`);
  return answer;
}

/** The trigger's webhook_url with a wrong secret: its webhook_token (ApiTypes: "the same
 * token present in webhook_url") changed, else the URL's last letter or digit. */
function tampered({ webhook_url: url, webhook_token: token }) {
  const flip = (c) => (c === 'x' ? 'y' : 'x');
  if (token && url.includes(token)) {
    return url.replace(token, flip(token[0]) + token.slice(1));
  }
  const at = url.search(/[A-Za-z0-9][^A-Za-z0-9]*$/);
  return url.slice(0, at) + flip(url[at]) + url.slice(at + 1);
}

await run(async (client) => {
  const created = await client.buildTriggers.create({
    name: 'Client: failing build',
    adapter: 'custom',
    adapter_settings: { trigger_url: input.trigger_url, headers: {} },
    frontend_url: null,
    autotrigger_on_scheduled_publications: false,
  });
  await client.buildTriggers.trigger(created.id);
  const forged = await report(tampered(created), 'success');
  const failed = await report(created.webhook_url, 'error');
  const found = await client.buildTriggers.find(created.id);
  const destroyed = await client.buildTriggers.destroy(created.id);
  const afterwards = await failure(client.buildTriggers.find(created.id));
  return { created, forged, failed, found, destroyed, afterwards };
});
