import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { problems } from './support/config.js';

describe('configuration: passkeys (WEBAUTHN_*)', () => {
  it('defaults: the RP ID is the host of APP_URL, the name APP_NAME, the origins those of APP_URL and PUBLIC_URL', () => {
    expect(loadConfig({}).webauthn).toEqual({ rpId: 'localhost', rpName: 'GraphQL Auth Gateway', origins: ['http://localhost:4000'] });
    const config = loadConfig({ APP_NAME: 'Acme', APP_URL: 'https://app.example.com/', PUBLIC_URL: 'https://app.example.com:8443/api' });
    expect(config.webauthn).toEqual({ rpId: 'app.example.com', rpName: 'Acme', origins: ['https://app.example.com', 'https://app.example.com:8443'] });
  });

  it('a default origin that cannot use the RP ID (PUBLIC_URL on another host) is left out, not an error', () => {
    const config = loadConfig({ APP_URL: 'https://app.example.com', PUBLIC_URL: 'https://api.example.net' });
    expect(config.webauthn.origins).toEqual(['https://app.example.com']);
  });

  it('parses WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME and WEBAUTHN_ORIGINS; origins may be subdomains of the RP ID', () => {
    const config = loadConfig({
      WEBAUTHN_RP_ID: 'Example.com',
      WEBAUTHN_RP_NAME: ' Acme ',
      WEBAUTHN_ORIGINS: 'https://example.com, https://login.example.com,https://example.com',
    });
    expect(config.webauthn).toEqual({ rpId: 'example.com', rpName: 'Acme', origins: ['https://example.com', 'https://login.example.com'] });
  });

  it('a default RP ID that is an IP address (PUBLIC_URL on 127.0.0.1) does not stop the start', () => {
    expect(loadConfig({ PUBLIC_URL: 'http://127.0.0.1:4000' }).webauthn.rpId).toBe('127.0.0.1');
  });

  it('refuses an RP ID that is no host name, an IP address, origins outside the RP ID or malformed, and names only the variable', () => {
    expect(problems({ WEBAUTHN_RP_ID: 'https://example.com' })).toContainEqual(expect.stringMatching(/^WEBAUTHN_RP_ID: expected a host name/));
    expect(problems({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.com,https://evil-example.com' })).toEqual([
      "WEBAUTHN_ORIGINS: every origin's host must be WEBAUTHN_RP_ID or under it",
    ]);
    expect(problems({ WEBAUTHN_ORIGINS: 'https://localhost/path' })).toEqual([expect.stringMatching(/^WEBAUTHN_ORIGINS: expected a comma-separated list/)]);
    expect(problems({ WEBAUTHN_ORIGINS: '*' })).toEqual([expect.stringMatching(/^WEBAUTHN_ORIGINS: /)]);
    expect(problems({ WEBAUTHN_RP_ID: 'example.org' })).toEqual([expect.stringMatching(/^WEBAUTHN_RP_ID: neither APP_URL nor PUBLIC_URL/)]);
    // WebAuthn's RP ID is a domain: browsers refuse an IP address.
    expect(problems({ WEBAUTHN_RP_ID: '127.0.0.1', PUBLIC_URL: 'http://127.0.0.1:4000' })).toEqual([
      expect.stringMatching(/^WEBAUTHN_RP_ID: an IP address cannot be/),
    ]);
    expect(problems({ WEBAUTHN_RP_NAME: 'x'.repeat(65) })).toEqual([expect.stringMatching(/^WEBAUTHN_RP_NAME: /)]);
  });
});
