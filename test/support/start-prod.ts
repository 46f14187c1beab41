import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * package.json's start:prod, read as "[VAR=value ...] node [flags] dist/main.js": its leading
 * environment assignments and node's flags. The bench runs the gateway with them and the bundle
 * test starts it with them, so both run what users run (and what the Dockerfile repeats).
 */
export function readStartProd(root: string): { env: Record<string, string>; nodeFlags: string[] } {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const script = pkg.scripts['start:prod'] ?? '';
  const words = script.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (words[0] && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const word = words.shift()!;
    env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1);
  }
  const [command, ...args] = words;
  if (command !== 'node' || args.at(-1) !== 'dist/main.js') throw new Error(`start:prod is not "[VAR=value ...] node [flags] dist/main.js": ${script}`);
  return { env, nodeFlags: args.slice(0, -1) };
}
