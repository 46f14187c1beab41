import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createGatewayRuntime, type GatewayPlugin } from '@graphql-hive/gateway-runtime';
import http from '@graphql-mesh/transport-http';
import { composeServices } from '@theguild/federation-composition';
import { GraphQLError, parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

/** A free loopback port (for an app whose PUBLIC_URL must name its own port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The test subgraph `orders`: it extends our User with `orders`, and its orders name a buyer. */
const ORDERS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])

  type Query {
    order(id: ID!): Order
  }

  type Order @key(fields: "id") {
    id: ID!
    buyer: User
  }

  type User @key(fields: "id") {
    id: ID!
    orders: [Order!]!
  }
`;

export type Orders = { url: string; sdl: string; add(userId: string): string; close(): Promise<void> };

/** Starts the `orders` subgraph on a loopback port; `add` records an order of a user. */
export async function startOrders(): Promise<Orders> {
  const buyerOf = new Map<string, string>();
  const ordersOf = (userId: string) => [...buyerOf].filter(([, buyer]) => buyer === userId).map(([id]) => ({ id }));
  const schema = buildSubgraphSchema({
    typeDefs: parse(ORDERS_SDL),
    resolvers: {
      Query: { order: (_: unknown, { id }: { id: string }) => (buyerOf.has(id) ? { id } : null) },
      Order: {
        __resolveReference: (ref: { id: string }) => (buyerOf.has(ref.id) ? ref : null),
        buyer: (order: { id: string }) => ({ id: buyerOf.get(order.id) }),
      },
      User: {
        __resolveReference: (ref: { id: string }) => ref,
        orders: (user: { id: string }) => ordersOf(user.id),
      },
    },
  });
  const yoga = createYoga({ schema, logging: false });
  const server = createHttpServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  let next = 0;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    sdl: ORDERS_SDL,
    add(userId) {
      const id = `order-${++next}`;
      buyerOf.set(id, userId);
      return id;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The supergraph of the given subgraphs, composed as Hive's schema registry would. */
export function composeSupergraph(subgraphs: Array<{ name: string; url: string; sdl: string }>): string {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (result.errors?.length) throw new Error(`composition failed: ${result.errors.map((e) => e.message).join('; ')}`);
  return result.supergraphSdl!;
}

export type Gateway = { query(query: string, token?: string): Promise<{ status: number; body: any }>; close(): Promise<void> };

/**
 * Hive Gateway (the runtime, in process; it reaches the subgraphs over loopback HTTP): the caller's
 * Authorization header forwarded to every subgraph, and @authenticated / @requiresScopes enforced
 * at the edge from the verified token's payload (`jwt.payload`, set by a JWT plugin) and its `scope`.
 */
export function createGateway(supergraph: string, plugins: GatewayPlugin[]): Gateway {
  const gateway = createGatewayRuntime({
    supergraph,
    transports: { http },
    logging: process.env.GW_DEBUG ? 'debug' : false,
    plugins: () => plugins,
    propagateHeaders: { fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }) },
    genericAuth: {
      mode: 'protect-granular',
      resolveUserFn: (context) => (context as { jwt?: { payload?: JWTPayload } }).jwt?.payload ?? null,
      extractScopes: (user) =>
        String(user?.scope ?? '')
          .split(' ')
          .filter(Boolean),
      rejectUnauthenticated: false,
    },
  });
  return {
    async query(query, token) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const response = await gateway.fetch('http://gateway.local/graphql', { method: 'POST', headers, body: JSON.stringify({ query }) });
      return { status: response.status, body: await response.json() };
    },
    close: async () => {
      await gateway.dispose();
    },
  };
}

/**
 * The jose-based gateway plugin of README "Behind a federated gateway", for EdDSA tokens (Hive's
 * own JWT plugin is built on jsonwebtoken, which has no EdDSA): a request with a bearer token that
 * does not verify is refused with 401; a verified payload is put in the context as `jwt.payload`,
 * where the gateway's authorization (genericAuth) reads it.
 */
export function useJoseJwt(options: { jwksUrl: string; issuer: string; audience: string; algorithms: string[] }): GatewayPlugin {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  const unauthenticated = () => new GraphQLError('Unauthenticated', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
  return {
    // On the server context, before any plugin builds the GraphQL context from it.
    async onRequestParse({ request, serverContext }) {
      const header = request.headers.get('authorization');
      if (!header) return;
      const match = /^Bearer (\S+)$/i.exec(header);
      if (!match) throw unauthenticated();
      try {
        const { payload } = await jwtVerify(match[1]!, jwks, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: options.algorithms,
          typ: 'at+jwt',
          requiredClaims: ['sub', 'exp', 'iat'],
        });
        Object.assign(serverContext, { jwt: { payload } });
      } catch {
        throw unauthenticated();
      }
    },
  };
}
