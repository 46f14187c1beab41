import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * SECRET_KEY when set; otherwise (never in production: config refuses) a development key
 * generated once and kept in DATA_DIR/secret.key, readable by its owner only.
 */
export function resolveSecretKey(options: { secretKey?: string; dataDir: string }): { key: string; generated: boolean } {
  if (options.secretKey) return { key: options.secretKey, generated: false };
  const file = join(options.dataDir, 'secret.key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), generated: false };
  mkdirSync(options.dataDir, { recursive: true });
  const key = randomBytes(48).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, generated: true };
}
