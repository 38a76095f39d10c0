// buildClient({ environment }): every request carries X-Environment, so the model is
// made in the sandbox and not in the primary environment.
import { makeClient, run, unique } from './lib.mjs';

await run(async (client) => {
  const primary = (await client.environments.list()).find((e) => e.meta && e.meta.primary);
  const sandbox = await client.environments.fork(primary ? primary.id : 'main', {
    id: `client-sandbox-${process.pid}`,
  });
  const inSandbox = makeClient({ environment: sandbox.id });
  const model = await inSandbox.itemTypes.create({ name: 'Sandboxed', api_key: unique('sandboxed') });
  const sandboxModels = (await inSandbox.itemTypes.list()).map((m) => m.api_key);
  const primaryModels = (await client.itemTypes.list()).map((m) => m.api_key);
  const destroyed = await client.environments.destroy(sandbox.id);
  return { sandbox, model, sandbox_models: sandboxModels, primary_models: primaryModels, destroyed };
});
