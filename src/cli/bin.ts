#!/usr/bin/env node
/** The executable entry of `objectfs`: runs the program and sets the exit code. */
import module from 'node:module';

// lz4-napi's bundled allocator (mimalloc) keeps freed pages for a while unless told to return
// them at once; it reads this when the addon loads, so it is set before anything is imported.
process.env['MIMALLOC_PURGE_DELAY'] ??= '0';

// A reader that stops early (objectfs status | head) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

// V8's compiled code of our modules and dependencies, kept on disk between runs (Node's own
// advice for command-line tools): every command and mount starts sooner. Quiet when it cannot
// be used (a read-only temp dir); NODE_COMPILE_CACHE moves it, NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache?.();

const { main } = await import('./main.js');
process.exitCode = await main(process.argv.slice(2));
