/**
 * Finds the names of the programs that source code runs, so a unit test can check that
 * scripts/setup.sh installs every one of them (scripts/programs.txt maps each to its Debian
 * package). Pure text in, names out; no I/O.
 *
 * What counts as running a program (the forms this code base uses; a new helper that runs
 * programs needs a line in SPAWNERS or SHELL_RUNNERS):
 * - a string literal as the first argument of spawn/execFile/… or of the test helpers that
 *   wrap them (`run('rsync', …)`, `ok('tar', …)`);
 * - the commands of a shell script given to the shell helpers (`bash(\`…\`)`,
 *   `onBoth(roots, \`…\`)`), or after `'-c',` in an argument list, also through a `const`
 *   holding the script;
 * - `subprocess.run(['find', …])`-style lists in Python;
 * - every command of a shell script file (scripts/*.sh).
 * It is a scanner, not a shell parser: it errs towards finding a name (a false alarm shows up
 * at once as a failing test naming the word) rather than missing one.
 */

/** Functions whose first argument is the program: node's and this repository's helpers. */
const SPAWNERS = ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'run', 'ok', 'sh', 'shBytes', 'shStatus', 'daemon'];
/** Helpers taking a shell script, and the index of the argument that holds it. */
const SHELL_RUNNERS: Readonly<Record<string, number>> = { bash: 0, onBoth: 1 };

/** Shell words that are not programs: builtins and keywords (bash runs these itself). */
export const SHELL_BUILTINS: ReadonlySet<string> = new Set([
  ':', '.', 'alias', 'bg', 'break', 'builtin', 'cd', 'command', 'compgen', 'complete', 'continue', 'declare', 'echo', 'eval',
  'exec', 'exit', 'export', 'false', 'fg', 'getopts', 'hash', 'jobs', 'kill', 'let', 'local', 'mapfile', 'printf', 'pwd',
  'read', 'readarray', 'readonly', 'return', 'set', 'shift', 'shopt', 'source', 'test', 'trap', 'true', 'type', 'typeset',
  'ulimit', 'umask', 'unalias', 'unset', 'wait',
]);
/** Words before a command that are not the command itself. */
const PREFIX_WORDS = new Set(['!', 'if', 'then', 'else', 'elif', 'do', 'while', 'until', 'time']);
/** Segments starting with these hold words or patterns, not a command. */
const SKIP_SEGMENT = new Set(['for', 'case', 'in', 'esac', 'done', 'fi', 'function', '[', '[[', 'test', 'command', 'type', 'hash', 'local', 'declare', 'export', 'readonly', 'trap', 'return', 'exit', 'echo', 'printf']);
/** Commands that run the command after their options (`sudo -E apt-get`, `exec node`). */
const WRAPPERS = new Set(['sudo', 'exec', 'env', 'nohup', 'nice', 'timeout', 'xargs', 'stdbuf', 'setsid']);

const NAME_RE = /^[A-Za-z][A-Za-z0-9_.+-]*$/;

/**
 * The content of the string literal (quote ' " or `) starting at `start`, with template
 * substitutions `${…}` replaced by `$V`; undefined when there is no literal there.
 */
export function literalAt(text: string, start: number): string | undefined {
  const quote = text[start];
  if (quote !== "'" && quote !== '"' && quote !== '`') return undefined;
  let out = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\') {
      const next = text[i + 1] ?? '';
      out += next === 'n' ? '\n' : next;
      i++;
    } else if (c === quote) {
      return out;
    } else if (quote === '`' && c === '$' && text[i + 1] === '{') {
      let depth = 0;
      for (i++; i < text.length; i++) {
        if (text[i] === '{') depth++;
        else if (text[i] === '}' && --depth === 0) break;
      }
      out += '$V';
    } else {
      out += c;
    }
  }
  return undefined;
}

/** Removes heredoc bodies (they are data for the command, not commands). */
function dropHeredocs(script: string): string {
  return script.replace(/<<-?\s*['"]?(\w+)['"]?([^\n]*)\n[\s\S]*?\n[ \t]*\1[ \t]*(?=\n|$)/g, '<$V$2');
}

/** The functions of a script that run their arguments as a command (`quietly() { "$@" …; }`). */
function commandRunners(script: string): Set<string> {
  const out = new Set<string>();
  for (const m of script.matchAll(/^[ \t]*(?:function\s+)?([\w-]+)\s*\(\)\s*\{/gm)) {
    const rest = script.slice((m.index ?? 0) + m[0].length);
    const oneLine = /^[^\n]*\}[ \t]*$/m.exec(rest.split('\n')[0] ?? '');
    const body = oneLine !== null ? (rest.split('\n')[0] ?? '') : rest.slice(0, Math.max(0, rest.search(/^\}/m)));
    if (/(^|[;{&|]|\n)\s*"\$@"/.test(body)) out.add(m[1] as string);
  }
  return out;
}

/** The programs a shell script runs (first words of its simple commands, through wrappers). */
export function shellPrograms(script: string, outerFunctions: ReadonlySet<string> = new Set()): string[] {
  const found = new Set<string>();
  // Defined anywhere in the script, so also callable inside its command substitutions.
  const functions = new Set([...outerFunctions, ...[...script.matchAll(/^\s*(?:function\s+)?([\w-]+)\s*\(\)/gm)].map((m) => m[1] as string)]);
  let text = dropHeredocs(script)
    .split('\n').map((line) => line.replace(/(^|\s)#.*$/, '$1')).join('\n')
    .replace(/'[^']*'/g, "''") // nothing runs inside single quotes (awk and sed programs)
    .replace(/\$\(\([^)]*\)\)/g, '$V') // arithmetic expansion
    .replace(/(^|[\s;&|])\(\([^)]*\)\)/g, '$1') // arithmetic command
    .replace(/\$\{[^}]*\}/g, '$V');
  // Command substitutions are scripts of their own: innermost first, then what holds them.
  for (let inner = /\$\(([^()]*)\)|`([^`]*)`/; inner.test(text);) {
    text = text.replace(inner, (_m, a?: string, b?: string) => {
      for (const p of shellPrograms(a ?? b ?? '', functions)) found.add(p);
      return '$V';
    });
  }
  text = text.replace(/\b(\w+)=\([^)]*\)/g, '$1=$V') // array assignment
    .replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const runners = commandRunners(script);
  for (const segment of text.split(/&&|\|\||[|;&\n(){}]/)) {
    const words = segment.trim().split(/\s+/).filter((w) => w !== '');
    let i = 0;
    while (i < words.length && (/^\w+=/.test(words[i] as string) || /^\d*[<>]/.test(words[i] as string) || PREFIX_WORDS.has(words[i] as string))) i++;
    let word = words[i];
    if (word === undefined || SKIP_SEGMENT.has(word)) continue;
    // The word after a wrapper's options and variables is the command it runs (`sudo -E
    // apt-get`, `quietly "${SUDO[@]}" env X=1 apt-get`); a function of the script is a
    // wrapper when it runs "$@".
    while (word !== undefined && (WRAPPERS.has(word) || runners.has(word))) {
      i++;
      while (i < words.length && /^(-|\d|\w+=|""$|\$)/.test(words[i] as string)) i++;
      word = words[i];
    }
    if (word === undefined || !NAME_RE.test(word) || SHELL_BUILTINS.has(word) || functions.has(word)) continue;
    found.add(word);
  }
  return [...found];
}

/** Python's `subprocess.run(['find', …])`, `Popen([…])`, `check_output([…])`… */
function pythonPrograms(text: string): string[] {
  return [...text.matchAll(/\bsubprocess\.\w+\(\s*\[\s*['"]([^'"]+)['"]/g)].map((m) => m[1] as string);
}

interface Assigned {
  readonly name: string;
  readonly at: number;
  readonly literal: string;
}

/** The literals assigned to `const NAME =` / `let NAME =` in a TS file, in file order. */
function constLiterals(text: string): Assigned[] {
  const out: Assigned[] = [];
  for (const m of text.matchAll(/\b(?:const|let)\s+(\w+)\s*(?::\s*string\s*)?=\s*/g)) {
    const literal = literalAt(text, (m.index ?? 0) + m[0].length);
    if (literal !== undefined) out.push({ name: m[1] as string, at: m.index ?? 0, literal });
  }
  return out;
}

/** The position of the next argument after the one starting at `pos` (past its comma). */
function afterArgument(text: string, pos: number): number {
  let depth = 0;
  for (let i = pos; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "'" || c === '"' || c === '`') {
      const lit = literalAt(text, i);
      if (lit === undefined) return text.length;
      // Skip to the closing quote: find it by scanning forward past escapes.
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) {
      if (depth === 0) return text.length; // the call ended: no such argument
      depth--;
    } else if (c === ',' && depth === 0) {
      return i + 1 + (/^\s*/.exec(text.slice(i + 1))?.[0].length ?? 0);
    }
  }
  return text.length;
}

/** The programs a TypeScript (or JavaScript) source runs. */
export function tsPrograms(text: string): string[] {
  const found = new Set<string>(pythonPrograms(text));
  const consts = constLiterals(text);
  const scriptsAt = (pos: number): string[] => {
    const lit = literalAt(text, pos);
    if (lit !== undefined) return [lit];
    // An identifier: the script is the nearest assignment to that name before the call.
    const ident = /^\w+/.exec(text.slice(pos))?.[0];
    const last = consts.filter((c) => c.name === ident && c.at < pos).at(-1);
    return last === undefined ? [] : [last.literal];
  };
  const spawners = new RegExp(`(?<![\\w.])(?:${SPAWNERS.join('|')})\\(\\s*`, 'g');
  for (const m of text.matchAll(spawners)) {
    const name = literalAt(text, (m.index ?? 0) + m[0].length);
    if (name !== undefined && NAME_RE.test(name)) found.add(name);
  }
  const shells = new RegExp(`(?<![\\w.])(${Object.keys(SHELL_RUNNERS).join('|')})\\(\\s*`, 'g');
  for (const m of text.matchAll(shells)) {
    let pos = (m.index ?? 0) + m[0].length;
    for (let skip = SHELL_RUNNERS[m[1] as string] ?? 0; skip > 0; skip--) pos = afterArgument(text, pos);
    for (const s of scriptsAt(pos)) for (const p of shellPrograms(s)) found.add(p);
  }
  // bash/sh given a script with -c in its argument list: spawn('bash', ['-euo', 'pipefail', '-c', script]).
  for (const m of text.matchAll(/['"](?:bash|sh)['"]\s*,\s*\[(?:\s*['"][^'"]*['"]\s*,)*?\s*['"]-c['"]\s*,\s*/g)) {
    for (const s of scriptsAt((m.index ?? 0) + m[0].length)) for (const p of shellPrograms(s)) found.add(p);
  }
  return [...found];
}

/** The programs run by a source file, by its extension (.ts/.js, .py, .sh). */
export function programsIn(fileName: string, text: string): string[] {
  if (fileName.endsWith('.sh')) return shellPrograms(text);
  if (fileName.endsWith('.py')) return pythonPrograms(text);
  return tsPrograms(text);
}

/** scripts/programs.txt: `program package` per line; `#` starts a comment. */
export function parseProgramTable(text: string): Map<string, string> {
  const table = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*/, '').trim();
    if (line === '') continue;
    const [program, pkg, extra] = line.split(/\s+/);
    if (program === undefined || pkg === undefined || extra !== undefined) throw new Error(`programs table: bad line "${raw}"`);
    table.set(program, pkg);
  }
  return table;
}

/** The entries of a bash array `NAME=( … )` in setup.sh (one or many per line, comments allowed). */
export function shellArray(script: string, name: string): string[] {
  const uncommented = script.split('\n').map((l) => l.replace(/(^|\s)#.*/, '')).join('\n');
  const m = new RegExp(`^${name}=\\(([^)]*)\\)`, 'm').exec(uncommented);
  if (m === null) throw new Error(`no ${name}=( … ) array`);
  return (m[1] as string).split(/\s+/).filter((w) => w !== '');
}
