// Boxwood's JavaScript runtime for boxwood_wrapper_kernel.py: runs cells in one long-lived Node.js global scope.
// Cells arrive as JSON lines on stdin; after each, MARK goes to stdout and stderr and one JSON status line to the
// fd in BOXWOOD_STATUS_FD (see the wrapper for the protocol).
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const util = require('util');
const vm = require('vm');
const { createRequire } = require('module');

const statusFd = Number(process.env.BOXWOOD_STATUS_FD);
delete process.env.BOXWOOD_STATUS_FD;
const MARK = '\x1eBWEND\x1e';

// Cells resolve modules from the working directory first, like a script saved there would.
globalThis.require = createRequire(path.join(process.cwd(), 'cell.js'));
globalThis.module = { exports: {} };
globalThis.exports = globalThis.module.exports;

// A stray rejection or exception in user code must not take the whole runtime (and its state) down.
process.on('unhandledRejection', (e) => console.error('Unhandled promise rejection:', e));
process.on('uncaughtException', (e) => console.error('Uncaught exception:', e));

// The TypeScript kernel is this runtime plus TypeScript's own transpiler (types are erased, not checked).
const typescript = process.env.BOXWOOD_TYPESCRIPT === '1' ? require('typescript') : null;
delete process.env.BOXWOOD_TYPESCRIPT;

function transpile(code) {
  if (!typescript) return rewrite(code);
  const output = typescript.transpileModule(code, {
    reportDiagnostics: false,
    compilerOptions: {
      module: typescript.ModuleKind.CommonJS,
      target: typescript.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  }).outputText;
  return output.replace(/^(const|let)\s/gm, 'var ');
}

let interrupt = null;
process.on('SIGINT', () => {
  if (interrupt) interrupt();
});

// Top-level const/let become var so re-running a cell does not fail with "already declared"; static imports
// become require calls because scripts cannot import.
function rewrite(code) {
  return code
    .replace(/^(const|let)\s/gm, 'var ')
    .replace(/^import\s+\*\s+as\s+(\w+)\s+from\s+(['"][^'"]+['"]);?/gm, 'var $1 = require($2);')
    .replace(/^import\s+(\w+)\s*,?\s*\{([^}]*)\}\s+from\s+(['"][^'"]+['"]);?/gm,
      (m, d, names, mod) => `var $__m = require(${mod}); var ${d} = $__m.default ?? $__m; var {${names.replace(/\bas\b/g, ':')}} = $__m;`)
    .replace(/^import\s+\{([^}]*)\}\s+from\s+(['"][^'"]+['"]);?/gm,
      (m, names, mod) => `var {${names.replace(/\bas\b/g, ':')}} = require(${mod});`)
    .replace(/^import\s+(\w+)\s+from\s+(['"][^'"]+['"]);?/gm,
      (m, d, mod) => `var ${d} = (($__m) => $__m && $__m.__esModule && 'default' in $__m ? $__m.default : $__m)(require(${mod}));`)
    .replace(/^import\s+(['"][^'"]+['"]);?/gm, 'require($1);');
}

function describe(error) {
  if (error && typeof error === 'object') {
    return {
      status: 'error',
      ename: String(error.name || 'Error'),
      evalue: String(error.message ?? ''),
      traceback: String(error.stack || error).split('\n'),
    };
  }
  return { status: 'error', ename: 'Error', evalue: String(error), traceback: [] };
}

// Top-level await: the cell runs as an async function (its declarations stay local to it) that returns the
// value of its last line when that line is an expression.
function asyncWrapper(source) {
  const lines = source.replace(/\s+$/, '').split('\n');
  const last = lines.pop().replace(/;\s*$/, '');
  const candidates = [
    `(async () => { return (\n${source}\n); })()`,
    `(async () => {\n${lines.join('\n')}\nreturn (\n${last}\n);\n})()`,
    `(async () => {\n${source}\n})()`,
  ];
  for (const candidate of candidates) {
    try {
      new vm.Script(candidate);
      return candidate;
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
    }
  }
  return candidates[candidates.length - 1];
}

async function runCell(code) {
  const interrupted = new Promise((_, reject) => {
    interrupt = () => {
      const e = new Error('Execution interrupted');
      e.name = 'KeyboardInterrupt';
      reject(e);
    };
  });
  let status;
  try {
    let value;
    const source = transpile(code);
    try {
      value = vm.runInThisContext(source, { filename: 'cell.js', breakOnSigint: true });
    } catch (e) {
      if (!(e instanceof SyntaxError) || !/await/.test(e.message)) throw e;
      value = vm.runInThisContext(asyncWrapper(source), { filename: 'cell.js', breakOnSigint: true });
    }
    if (value && typeof value.then === 'function') value = await Promise.race([value, interrupted]);
    status = { status: 'ok', result: value === undefined ? null : util.inspect(value) };
  } catch (e) {
    status = describe(e);
  } finally {
    interrupt = null;
  }
  interrupted.catch(() => {});
  await new Promise((resolve) => process.stdout.write(MARK, resolve));
  await new Promise((resolve) => process.stderr.write(MARK, resolve));
  fs.writeSync(statusFd, JSON.stringify(status) + '\n');
}

let queue = Promise.resolve();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const { code } = JSON.parse(line);
  queue = queue.then(() => runCell(code));
}).on('close', () => queue.then(() => process.exit(0)));
