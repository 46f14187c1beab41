import { randomBytes, randomUUID } from 'node:crypto';

/** The only source of randomness for modules (CSPRNG). */
export type Random = {
  bytes(length: number): Buffer;
  /** base64url of `length` random bytes. */
  token(length?: number): string;
  uuid(): string;
};

export const systemRandom: Random = {
  bytes: (length) => randomBytes(length),
  token: (length = 32) => randomBytes(length).toString('base64url'),
  uuid: () => randomUUID(),
};
