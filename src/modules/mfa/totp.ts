import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

/** RFC 6238 defaults that every authenticator app understands: SHA-1, 6 digits, 30 s. */
export const TOTP_PERIOD_S = 30;
const DIGITS = 6;

export type TotpOptions = { digits?: number; algorithm?: 'SHA1' | 'SHA256' | 'SHA512' };

/** A new 160-bit secret (RFC 4226 §4 recommends 160), base32 as authenticator apps take it. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secretBase32: string, options: TotpOptions & { issuer?: string; label?: string } = {}) {
  return new TOTP({
    issuer: options.issuer,
    label: options.label,
    algorithm: options.algorithm ?? 'SHA1',
    digits: options.digits ?? DIGITS,
    period: TOTP_PERIOD_S,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** The otpauth:// URI (Key Uri Format) with the issuer as prefix and parameter. */
export function totpUri(secretBase32: string, input: { issuer: string; account: string }): string {
  return totp(secretBase32, { issuer: input.issuer, label: input.account }).toString();
}

/** A QR code of the URI as an SVG data: URL (no image library, scales to any size). */
export async function qrCodeDataUrl(text: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

/** The code at a time (tests and RFC 6238 vectors). */
export function totpAt(secretBase32: string, timestampMs: number, options: TotpOptions = {}): string {
  return totp(secretBase32, options).generate({ timestamp: timestampMs });
}

/**
 * The time step a code belongs to, accepting the steps before and after the current one for
 * clock drift (RFC 6238 §5.2: at most one step back is the recommended allowance); null when it
 * matches none. Comparison is constant-time inside otpauth.
 */
export function matchTotp(secretBase32: string, code: string, nowMs: number): number | null {
  const token = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(token)) return null;
  const delta = totp(secretBase32).validate({ token, timestamp: nowMs, window: 1 });
  return delta === null ? null : Math.floor(nowMs / 1000 / TOTP_PERIOD_S) + delta;
}
