type WebAuthn = typeof import('@simplewebauthn/server');

let loaded: Promise<WebAuthn> | undefined;

/**
 * @simplewebauthn/server, loaded on the first passkey ceremony rather than at start: a server
 * whose users never register a passkey does not keep its code (about 13 MB of RSS) in memory.
 */
export function webauthn(): Promise<WebAuthn> {
  loaded ??= import('@simplewebauthn/server');
  return loaded;
}
