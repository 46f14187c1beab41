import {
  AuthenticatorEmulator,
  deserializeCredential,
  PasskeysCredentialsMemoryRepository,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  serializeCredential,
  WebAuthnEmulator,
} from 'nid-webauthn-emulator';
import { decodeJwt } from 'jose';
import type { TestApp } from './app.js';
import { AUTH_FIELDS, expectOk } from './actions.js';

/** The test app's origin (PUBLIC_URL, and APP_URL by default): the RP ID is its host, gateway.test. */
export const ORIGIN = 'http://gateway.test';

export const PASSKEY_FIELDS = 'id name createdAt lastUsedAt backedUp';
export const START_REGISTRATION = 'mutation { startPasskeyRegistration }';
export const FINISH_REGISTRATION = `mutation($r: JSON!, $n: String) { finishPasskeyRegistration(response: $r, name: $n) { ${PASSKEY_FIELDS} } }`;
export const START_LOGIN = 'mutation($e: String) { startPasskeyLogin(email: $e) }';
export const FINISH_LOGIN = `mutation($r: JSON!) { finishPasskeyLogin(response: $r) { ${AUTH_FIELDS} } }`;
export const MY_PASSKEYS = `{ me { id mfaMethods passkeys { ${PASSKEY_FIELDS} } } }`;

/** A software authenticator (CTAP2, user verification on, counter +1 per assertion) with its own credential store. */
export type Authenticator = { emulator: WebAuthnEmulator; repository: PasskeysCredentialsMemoryRepository };

export function newAuthenticator(): Authenticator {
  const repository = new PasskeysCredentialsMemoryRepository();
  return { emulator: new WebAuthnEmulator(new AuthenticatorEmulator({ credentialsRepository: repository })), repository };
}

/** A second authenticator holding copies of `source`'s credentials as they are now (a cloned key: its counter stays behind). */
export function cloneAuthenticator(source: Authenticator): Authenticator {
  const copy = newAuthenticator();
  for (const credential of source.repository.loadCredentials()) copy.repository.saveCredential(deserializeCredential(serializeCredential(credential)));
  return copy;
}

export async function startRegistration(app: TestApp, token: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return expectOk(await app.gql(START_REGISTRATION, {}, { token })).startPasskeyRegistration;
}

export function finishRegistration(app: TestApp, token: string, response: unknown, name?: string) {
  return app.gql(FINISH_REGISTRATION, { r: response, n: name }, { token });
}

/** Registers a passkey of `authenticator` for the caller; returns the Passkey. */
export async function registerPasskey(app: TestApp, token: string, authenticator: Authenticator, name?: string) {
  const options = await startRegistration(app, token);
  const response = authenticator.emulator.createJSON(ORIGIN, options);
  return expectOk(await finishRegistration(app, token, response, name)).finishPasskeyRegistration;
}

/** startPasskeyLogin's options: with an email, without, or with a pending token. */
export async function startLogin(app: TestApp, options: { email?: string; token?: string } = {}): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return expectOk(await app.gql(START_LOGIN, { e: options.email }, { token: options.token })).startPasskeyLogin;
}

export function finishLogin(app: TestApp, response: unknown, token?: string) {
  return app.gql(FINISH_LOGIN, { r: response }, { token });
}

/** The whole sign-in: options, the authenticator's answer from `origin`, the result. */
export async function passkeyLogin(app: TestApp, authenticator: Authenticator, options: { email?: string; token?: string; origin?: string } = {}) {
  const request = await startLogin(app, options);
  const response = authenticator.emulator.getJSON(options.origin ?? ORIGIN, request);
  return finishLogin(app, response, options.token);
}

/** The amr claim of an access token. */
export function amrOf(accessToken: string): string[] {
  return decodeJwt(accessToken).amr as string[];
}
