/**
 * A last-in, first-out list of undo steps: each resource registers its teardown as soon as it
 * exists, so a failure half-way through start-up still releases everything started before it.
 */
export type Cleanup = {
  add(label: string, step: () => Promise<void> | void): void;
  /** Runs every step once, newest first; a failing step is reported and the rest still run. */
  run(): Promise<void>;
};

export function createCleanup(): Cleanup {
  const steps: Array<{ label: string; step: () => Promise<void> | void }> = [];
  return {
    add: (label, step) => void steps.push({ label, step }),
    async run() {
      for (let next = steps.pop(); next; next = steps.pop()) {
        try {
          await next.step();
        } catch (error) {
          console.error(`cleanup: ${next.label} failed:`, error instanceof Error ? error.message : error);
        }
      }
    },
  };
}
