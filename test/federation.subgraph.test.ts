import { describe, expect, it } from 'vitest';
import { backends, useTestApp } from './support/app.js';
import { signUp } from './support/actions.js';

describe.each(backends())('without FEDERATION (%s)', (backend) => {
  const app = useTestApp(backend);

  it('has no _service or _entities: the public schema is the plain one', async () => {
    const user = await signUp(app);
    for (const query of ['{ _service { sdl } }', `{ _entities(representations: [{ __typename: "User", id: "${user.userId}" }]) { __typename } }`]) {
      const result = await app.gql(query, {}, { token: user.accessToken });
      expect(result.data).toBeNull();
      expect(result.errors?.[0]?.message).toMatch(/Cannot query field "_(service|entities)"/);
    }
  });
});
