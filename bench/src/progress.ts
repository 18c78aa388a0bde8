/**
 * The progress line on stderr while a run is going. On a terminal it rewrites one
 * line; otherwise (CI logs, pipes) it prints a line at most once a second.
 */

/** One progress reporter. */
export class Progress {
  private lastPrintMs = 0;
  private dirty = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  /** Show `text` as the current state. */
  update(text: string): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${text}`);
      this.dirty = true;
      return;
    }
    const t = performance.now();
    if (t - this.lastPrintMs >= 1000) {
      this.lastPrintMs = t;
      this.stream.write(`${text}\n`);
    }
  }

  /** Print a message on its own line. */
  note(text: string): void {
    this.end();
    this.stream.write(`${text}\n`);
  }

  /** Finish the current progress line. */
  end(): void {
    if (this.dirty) this.stream.write('\n');
    this.dirty = false;
  }
}
