// client.ssoUsers: list, find; the users are made first with the dispatcher's own
// POST /sso-users (DatoCMS makes them over SCIM), a plain fetch with the token.
import { plainOk, run } from './lib.mjs';

await run(async (client) => {
  const made = [];
  for (const [first, last] of [['Ada', 'Lovelace'], ['Alan', 'Turing']]) {
    const document = await plainOk('POST', '/sso-users', {
      body: {
        data: {
          type: 'sso_user',
          attributes: {
            username: `${first.toLowerCase()}.${process.pid}@example.com`,
            external_id: `ext-${first.toLowerCase()}-${process.pid}`,
            first_name: first,
            last_name: last,
          },
        },
      },
    });
    made.push(document.data);
  }
  const listed = await client.ssoUsers.list();
  const found = await client.ssoUsers.find(made[0].id);
  return { made, listed, found };
});
