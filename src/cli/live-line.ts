/**
 * One line at the bottom of a terminal that says what is happening now: the tail
 * of a build's output, or a wait with its time ("waiting for health of … (http
 * /health), 12 s of 30 s"), redrawn in place. Permanent lines are printed above
 * it. Only ever used when stderr is a terminal: piped output gets no escape codes.
 */
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const REDRAW_MS = 250;

export class LiveLine {
  private text = '';
  private wait: { label: string; totalMs?: number; started: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private shown = false;
  private frame = 0;
  private lastDraw = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  /** A permanent line: above the live one, which then goes on. */
  print(line: string): void {
    this.erase();
    this.stream.write(`${line}\n`);
    if (this.wait || this.text) this.draw();
  }

  /** A passing line (build output): replaces the live text, drawn at most every REDRAW_MS. */
  passing(text: string): void {
    this.text = text;
    if (Date.now() - this.lastDraw >= REDRAW_MS / 2) this.draw();
    this.tick();
  }

  /** A wait begins: its label and elapsed time (of totalMs when known) are redrawn until the next step. */
  startWait(label: string, totalMs?: number): void {
    this.wait = { label, totalMs, started: Date.now() };
    this.text = '';
    this.draw();
    this.tick();
  }

  /** The step moved on: no live line until the next wait or passing line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.wait = undefined;
    this.text = '';
    this.erase();
  }

  private tick(): void {
    this.timer ??= setInterval(() => this.draw(), REDRAW_MS).unref();
  }

  private draw(): void {
    this.lastDraw = Date.now();
    const spin = FRAMES[this.frame++ % FRAMES.length];
    let body = this.text;
    if (this.wait) {
      const s = Math.floor((Date.now() - this.wait.started) / 1000);
      body = `${this.wait.label}, ${s} s${this.wait.totalMs ? ` of ${Math.ceil(this.wait.totalMs / 1000)} s` : ''}${this.text ? `  ${this.text}` : ''}`;
    }
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    const line = `${spin} ${body.replace(/\s+/g, ' ')}`;
    this.stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
    this.shown = true;
  }

  private erase(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
