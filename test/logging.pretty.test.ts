import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, wantsPrettyLogs } from '../src/shared/logger.js';

function collect() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

describe('development logs', () => {
  it('are pretty only outside production with stdout a terminal; JSON otherwise', () => {
    expect(wantsPrettyLogs({ isProduction: false, isTTY: true })).toBe(true);
    expect(wantsPrettyLogs({ isProduction: false, isTTY: undefined })).toBe(false);
    expect(wantsPrettyLogs({ isProduction: false, isTTY: false })).toBe(false);
    expect(wantsPrettyLogs({ isProduction: true, isTTY: true })).toBe(false);
  });

  it('print a mail as a readable block: its link on a line of its own, unescaped; secrets still redacted', async () => {
    const out = collect();
    const logger = createLogger({ level: 'info', pretty: true, destination: out.destination });
    const link = 'http://localhost:4000/reset-password?token=abc_DEF-123';
    logger.info(
      { mail: { to: 'grace@example.com', subject: 'Reset your password', text: `Hello,\n\nChoose a new password:\n${link}\n\nIt works once.` } },
      'mail (not sent: no SMTP_URL)',
    );
    logger.info({ password: 'hunter2' }, 'something');
    await new Promise((resolve) => setImmediate(resolve)); // the pretty stream writes on a later tick
    const text = out.lines.join('');
    expect(text).toContain('mail (not sent: no SMTP_URL)');
    expect(text).not.toMatch(/^\{/m);
    const lines = text.split('\n').map((l) => l.trim());
    expect(lines).toContain('To:      grace@example.com');
    expect(lines).toContain('Subject: Reset your password');
    expect(lines).toContain(link);
    expect(text).not.toContain('\\n');
    expect(text).not.toContain('hunter2');
  });

  it('stay one JSON object per line without `pretty`', () => {
    const out = collect();
    createLogger({ level: 'info', destination: out.destination }).info({ mail: { to: 'a@example.com', text: 'x\ny' } }, 'mail');
    expect(JSON.parse(out.lines[0]!)).toMatchObject({ msg: 'mail', mail: { to: 'a@example.com', text: 'x\ny' } });
  });
});
