/**
 * The explicit undo list of ADD: every step that changes something pushes
 * how to take it back *before* it runs (a half-applied batch is undone by
 * the same action as a whole one). On failure the steps are undone newest
 * first; an undo that fails is reported, and the rest still run.
 */
export interface UndoStep {
  label: string;
  run: () => Promise<void>;
}

export class UndoStack {
  private readonly steps: UndoStep[] = [];

  push(label: string, run: () => Promise<void>): void {
    this.steps.push({ label, run });
  }

  get labels(): string[] {
    return this.steps.map((s) => s.label);
  }

  /** Undoes everything, newest first. Returns the failures ("label: message"). */
  async unwind(): Promise<string[]> {
    const failures: string[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        failures.push(`${step.label}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return failures;
  }

  /** Forgets every step (ADD succeeded). */
  commit(): void {
    this.steps.length = 0;
  }
}
