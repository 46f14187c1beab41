import { setTimeout as sleep } from 'node:timers/promises';
import type { DbOrTx } from '../../db/client.js';
import type { Logger } from '../../shared/logger.js';
import type { Mail, Mailer } from '../../shared/mailer.js';
import { systemRandom, type Random } from '../../shared/random.js';
import type { Sms, SmsSender } from '../../shared/sms.js';
import type { ClaimedMessage, MessageQueue } from './queue.js';
import { createMemoryQueue } from './queue-memory.js';
import { lines, scrubError } from './scrub.js';
import type { MessageChannel } from './tables.js';

/** What the log may say about a message: never its recipient or content. */
export type MessageInfo = { purpose: string; userId?: string | null };

export type Messages = {
  /**
   * Queues a mail; returns at once, never throws. Call only after the secret is stored (its
   * transaction committed): for codes, which live in the store and have no transaction to join.
   * A crash between storing the code and this insert (a moment) loses the message; the user asks
   * again. Once inserted, nothing loses it. Link mails use `mailIn` inside their token's transaction.
   */
  mail(mail: Mail, info: MessageInfo): void;
  sms(sms: Sms, info: MessageInfo): void;
  /**
   * Queues a mail inside `tx`, the transaction that creates its secret: the row commits with the
   * secret or not at all, so not even a crash right after the commit loses it. Rejects when the
   * insert fails (rolling the secret back with it). Call `wake()` after the commit for prompt
   * delivery; without it the worker finds the row within a second.
   */
  mailIn(tx: DbOrTx, mail: Mail, info: MessageInfo): Promise<void>;
  /** Looks for due messages now (after the commit of a `mailIn`). */
  wake(): void;
  /**
   * Starts the worker (the server does, src/server.ts): its first pass at once picks up what a
   * stopped or crashed instance left behind. Until then messages are queued, not sent, so a
   * script (keys:rotate) that builds the ports runs no worker.
   */
  start(): void;
  /** Whether the worker was started (and not closed). */
  readonly running: boolean;
  /**
   * Runs work that ends in a message (issuing a token, then mailing it) after the response, so
   * the answer's timing cannot tell whether there was anything to send. Failures are logged.
   */
  defer(info: MessageInfo, task: () => Promise<void>): void;
  /** Resolves when every message this instance queued, and every deferred task, has been delivered or given up (tests await it). */
  idle(): Promise<void>;
  /**
   * Stops the worker. A durable queue waits (at most `graceMs`, default 10 s) for the sends in
   * progress and leaves the rest queued for any instance; the in-memory one waits for everything.
   */
  close(graceMs?: number): Promise<void>;
  readonly mailer: Mailer;
  readonly smsSender: SmsSender;
};

/** @default [1000, 5000, 30000]: four attempts over about 36 s, enough to ride out an SMTP restart. */
const DEFAULT_RETRY_DELAYS_MS = [1000, 5000, 30_000];

export type MessagesOptions = {
  mailer: Mailer;
  sms: SmsSender;
  logger: Logger;
  retryDelaysMs?: number[];
  /** Where messages wait; in memory (lost with the process) when not given. */
  queue?: MessageQueue;
  random?: Random;
  /** How often the worker looks for messages other instances left (a crashed one's, due retries). @default 1000 */
  pollMs?: number;
  /** How long a claim holds a message: longer than a send may take (SMTP and SMS time out after 10 s). @default 60000 */
  claimMs?: number;
  /** Start the worker at once. @default true; createDeps passes false: the server starts it (start()). */
  startWorker?: boolean;
};

const BATCH = 10;

/**
 * Background delivery from a queue, with retries. A request never waits for (or fails because
 * of) the mail server: the secret is already committed, and the user can ask again. Every
 * instance runs a worker that claims due messages (its own and any other's), so a message
 * queued by an instance that stops or crashes is delivered by another. Logs carry the purpose,
 * the user id, the attempt and a scrubbed error, never the recipient, subject or body
 * (one-time secrets and personal data; ASVS 5.0 V16.2.5).
 *
 * Scheduling runs on the queue's clock (the database's now()), not deps.clock: it decides
 * nothing about a user, and a test that moves deps.clock must not stall delivery.
 */
export function createMessages(opts: MessagesOptions): Messages {
  const { logger } = opts;
  const delays = opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const queue = opts.queue ?? createMemoryQueue();
  const random = opts.random ?? systemRandom;
  const pollMs = opts.pollMs ?? 1000;
  const claimMs = opts.claimMs ?? 60_000;
  const owner = random.uuid();
  // Messages this instance queued and not yet seen delivered or given up: what idle() waits for.
  const own = new Set<string>();
  const adding = new Set<Promise<void>>();
  const deferred = new Set<Promise<void>>();
  const sending = new Set<Promise<void>>();
  let closing = false;
  let closed = false;
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  const passWaiters: Array<() => void> = [];

  async function deliver(row: ClaimedMessage): Promise<void> {
    const fields = { channel: row.channel, purpose: row.purpose, userId: row.userId, attempt: row.attempts };
    let secrets: string[] = [];
    try {
      const message = JSON.parse(row.payload) as Mail & Sms;
      secrets = row.channel === 'mail' ? [message.to, message.subject, ...lines(message.text)] : [message.to, message.body];
      await (row.channel === 'mail' ? opts.mailer.send(message) : opts.sms.send(message));
    } catch (error) {
      const err = scrubError(error, secrets);
      const text = `${String(err.type ?? 'Error')}: ${String(err.message)}`.slice(0, 500);
      const delay = delays[row.attempts - 1];
      if (delay === undefined) {
        logger.error({ ...fields, err }, `${row.channel} delivery failed; giving up`);
        // Out of `own` only once the row says FAILED: idle() must not return before the write.
        await queue.fail(row.id, owner, text).finally(() => own.delete(row.id));
        return;
      }
      logger.warn({ ...fields, err }, `${row.channel} delivery failed; retrying in ${delay} ms`);
      return queue.retry(row.id, owner, delay, text);
    }
    logger.debug(fields, `${row.channel} delivered`);
    await queue.done(row.id, owner).finally(() => own.delete(row.id));
  }

  /**
   * Claims due messages while fewer than BATCH sends run, and starts their sends without waiting
   * for them: one slow send (a silent SMTP server, 10 s) does not hold back the messages behind it.
   */
  async function pass(): Promise<void> {
    while (!closed && sending.size < BATCH) {
      const rows = await queue.claim(owner, BATCH - sending.size, claimMs);
      if (!rows.length) return;
      for (const row of rows) {
        const send: Promise<void> = deliver(row)
          .catch((err: unknown) => logger.warn({ err, channel: row.channel, purpose: row.purpose }, 'message queue update failed'))
          .finally(() => {
            sending.delete(send);
            // A slot is free, and idle() may be waiting for this very message.
            for (const wake of passWaiters.splice(0)) wake();
            schedule(0);
          });
        sending.add(send);
      }
    }
  }

  function run(): void {
    running = (async () => {
      do {
        again = false;
        await pass().catch((err: unknown) => logger.warn({ err }, 'message queue step failed; retrying'));
      } while (again && !closed);
      // The next due message, or a look for others' messages at the latest after pollMs.
      const due = closed ? null : await queue.nextDueInMs().catch(() => null);
      running = null;
      for (const wake of passWaiters.splice(0)) wake();
      if (!closed) schedule(due === null ? pollMs : Math.min(pollMs, Math.max(0, due) + 5));
    })();
  }

  function schedule(delayMs: number): void {
    if (closed || !started) return;
    if (running) {
      if (delayMs === 0) again = true;
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(run, delayMs);
    timer.unref();
  }

  function enqueue(channel: MessageChannel, payload: string, info: MessageInfo): void {
    const fields = { channel, purpose: info.purpose, userId: info.userId ?? null };
    if (closed) {
      logger.warn(fields, `${channel} dropped: messaging is closed`);
      return;
    }
    const id = random.uuid();
    own.add(id);
    const added: Promise<void> = queue
      .add({ id, channel, purpose: info.purpose, userId: info.userId ?? null, payload })
      .then(() => schedule(0))
      .catch((err: unknown) => {
        own.delete(id);
        // The logger strips a database error's bound parameters (the encrypted payload among them).
        logger.error({ ...fields, err }, `${channel} could not be queued; not sent`);
      })
      .finally(() => adding.delete(added));
    adding.add(added);
  }

  function defer(info: MessageInfo, task: () => Promise<void>): void {
    const fields = { purpose: info.purpose, userId: info.userId ?? null };
    if (closing) {
      logger.warn(fields, 'deferred work dropped: messaging is closed');
      return;
    }
    const task$: Promise<void> = Promise.resolve()
      .then(task)
      .catch((err) => logger.error({ ...fields, err }, 'work before a message failed; nothing was sent'))
      .finally(() => deferred.delete(task$));
    deferred.add(task$);
  }

  /** Deferred tasks and inserts in flight (a deferred task queues its message before it ends). */
  async function settled(): Promise<void> {
    while (deferred.size || adding.size) await Promise.all([...deferred, ...adding]);
  }

  async function idle(): Promise<void> {
    for (;;) {
      await settled();
      if (closed || !own.size) return;
      // Another instance may have delivered some of them.
      const left = await queue.pending([...own]).catch(() => null);
      if (left) for (const id of own) if (!left.has(id)) own.delete(id);
      if (!own.size) return;
      await new Promise<void>((resolve) => {
        passWaiters.push(resolve);
        // A send in progress wakes us when it ends; otherwise look now.
        if (!running && !sending.size) schedule(0);
      });
    }
  }

  const start = () => {
    if (started) return;
    started = true;
    schedule(0);
  };
  if (opts.startWorker ?? true) start();

  return {
    mailer: opts.mailer,
    smsSender: opts.sms,
    mail: (mail, info) => enqueue('mail', JSON.stringify(mail), info),
    sms: (sms, info) => enqueue('sms', JSON.stringify(sms), info),
    async mailIn(tx, mail, info) {
      if (closed) throw new Error('messaging is closed');
      const id = random.uuid();
      await queue.add({ id, channel: 'mail', purpose: info.purpose, userId: info.userId ?? null, payload: JSON.stringify(mail) }, tx);
      // Rolled back after all: idle() finds it is not pending and stops waiting for it.
      own.add(id);
    },
    wake: () => schedule(0),
    start,
    get running() {
      return started && !closed;
    },
    defer,
    idle,
    async close(graceMs = 10_000) {
      if (closing) return;
      // New deferred work is refused at once; messages from work still running are queued.
      closing = true;
      const grace = new AbortController();
      const inHand = async () => {
        await settled();
        await running;
        await Promise.all([...sending]);
      };
      const work = queue.durable ? inHand() : idle();
      const drained = await Promise.race([work.then(() => true), sleep(graceMs, false, { signal: grace.signal }).catch(() => false)]);
      grace.abort();
      closed = true;
      clearTimeout(timer);
      for (const wake of passWaiters.splice(0)) wake();
      if (queue.durable) {
        // Sends still running past the grace may be repeated by another instance: at least once.
        await queue.release(owner).catch((err: unknown) => logger.warn({ err }, 'message queue claims not released; they expire'));
        const left = await queue.pending([...own]).catch(() => own);
        if (left.size) logger.info({ queued: left.size, inFlight: !drained }, 'messaging closed; undelivered messages stay queued for any instance');
      } else if (!drained) {
        logger.warn({ dropped: own.size }, 'messaging closed before every message was delivered');
      }
      await opts.mailer.close();
    },
  };
}
