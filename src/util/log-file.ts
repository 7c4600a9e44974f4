/**
 * A log file that can be reopened, for logrotate: it renames the file and then signals the
 * mount (SIGUSR1), and from then on lines go to a new file under the old name; nothing is
 * copied or truncated, so no line is lost or doubled. Lines are written synchronously, as Node
 * writes process.stderr to a file: a line is never split, and the last ones before an exit are
 * kept. The file is opened for appending, so several writers (the daemon's own stderr is the
 * same file until the first rotation) never overwrite each other.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export class LogFile {
  /** Where lines go, reopened under this name. */
  readonly path: string;
  #fd: number;

  /** Opens (creates) `path` for appending; throws if it cannot. */
  constructor(path: string) {
    this.path = path;
    this.#fd = openSync(path, 'a');
  }

  /**
   * Appends a line. A line that cannot be written (a full disk) is dropped: there is nowhere
   * to report it, and a log line must never fail the operation that logged it.
   */
  write(line: string): void {
    try {
      writeSync(this.#fd, line);
    } catch {
      // dropped, see above
    }
  }

  /**
   * Opens the path anew and writes there from now on. If it cannot be opened (the directory
   * is gone, no permission), throws and keeps writing to the file it had.
   */
  reopen(): void {
    const fd = openSync(this.path, 'a');
    const old = this.#fd;
    this.#fd = fd;
    closeSync(old);
  }
}
