// client.maintenanceMode: find, activate, deactivate.
import { run } from './lib.mjs';

await run(async (client) => {
  const before = await client.maintenanceMode.find();
  const activated = await client.maintenanceMode.activate();
  const during = await client.maintenanceMode.find();
  const deactivated = await client.maintenanceMode.deactivate();
  const after = await client.maintenanceMode.find();
  return { before, activated, during, deactivated, after };
});
