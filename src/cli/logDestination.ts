/**
 * Where the server's JSON log lines go: pino's own destination (sonic-boom, which writes to the
 * file descriptor, retries and flushes), handed whole chunks of lines instead of one line at a
 * time. sonic-boom measures the byte length of its pending buffer on every write it is given
 * (a growing string, flattened and scanned each time), which at one access line per request cost
 * about 3.5 µs a line here, twice what pino spends making the line. Lines are gathered here and
 * handed over `chunkChars` at a time, and whatever is gathered at least every `flushMs`.
 *
 * 64 KB at a time, not 8: each write is a system call on libuv's thread pool, a wake-up of that
 * thread and one of the event loop when it completes; at 15,000 requests/s 8 KB chunks meant
 * 600 of those a second, and in A/B runs of the server at `info` (bench/ab.mjs) 64 KB chunks
 * cost several µs a request less.
 *
 * The cost: a kill -9 loses the lines not yet written: those gathered here (less than a chunk,
 * some 200 access lines, and at most the last `flushMs` of them) and those handed over but not
 * yet taken by the file or pipe (one chunk being written, more while a log reader lags); never
 * data: that is in the database. A clean stop, and any exit of the process, writes everything
 * first.
 */
import pino from 'pino';

export interface LogDestination {
  write(line: string): void;
  /** Hands over what is gathered and calls back once it is written. */
  flush(cb?: (err?: Error) => void): void;
  /** Writes everything now, synchronously (at exit). */
  flushSync(): void;
  /** Stops the timer and the exit hook (tests). */
  close(): void;
}

export function logDestination(opts: { fd: number | string; chunkChars?: number; flushMs?: number }): LogDestination {
  const chunkChars = opts.chunkChars ?? 65_536;
  // minLength 1: sonic-boom writes a chunk as soon as it has one (gathering chunks while a write
  // is under way), and its flush(cb) still waits for what is being written.
  const sonic = pino.destination({ dest: opts.fd, sync: false, minLength: 1 });
  let lines: string[] = [];
  let size = 0;
  const handOver = () => {
    if (size === 0) return;
    const chunk = lines.join('');
    lines = [];
    size = 0;
    sonic.write(chunk);
  };
  const timer = setInterval(handOver, opts.flushMs ?? 250);
  timer.unref();
  const atExit = () => {
    handOver();
    try {
      sonic.flushSync();
    } catch {
      // Not open yet, or already closed: nothing more can be written.
    }
  };
  process.once('exit', atExit);
  return {
    write(line) {
      lines.push(line);
      size += line.length;
      if (size >= chunkChars) handOver();
    },
    flush(cb) {
      handOver();
      sonic.flush(cb);
    },
    flushSync: atExit,
    close() {
      clearInterval(timer);
      process.removeListener('exit', atExit);
    },
  };
}
