/**
 * The runner's dead-man switch. run-tests.ts spawns it detached (so Ctrl-C and a hangup do not
 * reach it) with an IPC channel, and sends it every change of the bed's state. When the channel
 * closes without a `{ done: true }` message first (the runner crashed or was SIGKILLed), it tears
 * the bed down itself: the test process group, FUSE mounts, PostgreSQL, s3rver, the temp root.
 */
import { teardown, type BedState } from './teardown.js';

interface ReaperMessage {
  readonly state?: BedState;
  readonly done?: boolean;
}

let state: BedState = {};
let done = false;

if (process.send === undefined) {
  process.stderr.write('reaper: must be started by run-tests.js with an IPC channel\n');
  process.exit(2);
}
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.on('message', (msg: ReaperMessage) => {
  if (msg.state !== undefined) state = msg.state;
  if (msg.done === true) done = true;
});
process.on('disconnect', () => {
  if (!done) {
    const warnings = teardown(state);
    process.stderr.write(
      `test reaper: runner exited without teardown; cleaned up ${state.tmpRoot ?? '(nothing)'}` +
        warnings.map((w) => `\n  ${w}`).join('') +
        '\n',
    );
  }
  process.exit(0);
});
