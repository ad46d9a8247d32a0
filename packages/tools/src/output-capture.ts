/**
 * Bounded capture of a command's combined output: keeps the head and the tail (errors tend to be at the
 * end), drops the middle with a notice, and stops live streaming once the cap is reached.
 */
export class OutputCapture {
  private head = "";
  private tail = "";
  private dropped = 0;
  private streamed = 0;
  private readonly headCap: number;
  private readonly tailCap: number;

  constructor(private readonly cap: number) {
    this.headCap = Math.ceil(cap * 0.75);
    this.tailCap = cap - this.headCap;
  }

  /** Records `data`; returns the part still to be streamed live ("" once the cap is reached). */
  push(data: string): string {
    const toHead = data.slice(0, Math.max(0, this.headCap - this.head.length));
    this.head += toHead;
    if (toHead.length < data.length) {
      this.tail += data.slice(toHead.length);
      if (this.tail.length > this.tailCap) {
        this.dropped += this.tail.length - this.tailCap;
        this.tail = this.tail.slice(this.tail.length - this.tailCap);
      }
    }
    const live = data.slice(0, Math.max(0, this.cap - this.streamed));
    this.streamed += live.length;
    return live;
  }

  /** True once live streaming has stopped (more arrived than the cap). */
  get capped(): boolean {
    return this.streamed >= this.cap && this.head.length + this.tail.length + this.dropped > this.cap;
  }

  /** The captured text; a notice marks where the middle was dropped. */
  text(): string {
    if (this.dropped === 0) return this.head + this.tail;
    return `${this.head}\n[… ${this.dropped} characters of output omitted …]\n${this.tail}`;
  }
}
