#!/usr/bin/env node
/** The executable entry of `objectfs`: runs the program and sets the exit code. */

// lz4-napi's bundled allocator (mimalloc) keeps freed pages for a while unless told to return
// them at once; it reads this when the addon loads, so it is set before anything is imported.
process.env['MIMALLOC_PURGE_DELAY'] ??= '0';

// A reader that stops early (objectfs status | head) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const { main } = await import('./main.js');
process.exitCode = await main(process.argv.slice(2));
