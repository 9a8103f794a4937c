#!/usr/bin/env node
// Builds the four executables in dist/bin/ as single-file bundles.
//
// Each bundle carries everything it needs except Node's own built-in modules,
// so a CNI invocation loads exactly one file and a host needs nothing but a
// Node 24 runtime. The format is CommonJS: measured on this machine it starts
// as fast as ESM or slightly faster, and an extensionless CommonJS file runs
// anywhere it is copied (e.g. /opt/cni/bin) with no package.json beside it and
// without Node's ESM syntax detection. Because the repository's package.json
// says "type": "module", dist/package.json pins dist/ back to CommonJS.
//
// Usage: node scripts/build.mjs   (or `npm run build`, which type-checks first)

import { build, transform } from 'esbuild';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(root, 'dist');
const binDir = join(distDir, 'bin');

/** Output name → entry point. */
const BUNDLES = {
  'tortie-agent': 'agent/main.ts',
  tortiectl: 'agent/ctl-main.ts',
  tortie: 'cni/main.ts',
  'tortie-ipam': 'ipam/cni-ipam-main.ts',
};

/**
 * V8 flags a bundle needs, put on its `#!` line through `env -S` (GNU
 * coreutils; Debian 12 has it). The agent caps the young generation: with
 * V8's default semi-spaces a full table (1M prefixes) peaks about 100 MiB
 * higher for no speed gain (docs/benchmarks.md). V8 reads this flag only
 * at start-up, so it cannot be set from inside the program.
 */
export const NODE_FLAGS = { 'tortie-agent': ['--max-semi-space-size=8'] };

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/**
 * Optional dependencies that libraries load inside try/catch and that we do
 * not want in a bundle: bunyan's native DTrace probes (a node-gyp build),
 * its rotating-file helper and source-map support, and ws's native helpers
 * (bufferutil, utf-8-validate; ws comes with the Kubernetes client). They resolve to a module that throws on load,
 * exactly what the library sees when the package is absent.
 */
const OPTIONAL_ABSENT = /^(dtrace-provider|mv|source-map-support|bufferutil|utf-8-validate)$/;
const optionalAbsent = {
  name: 'optional-absent',
  setup(b) {
    b.onResolve({ filter: OPTIONAL_ABSENT }, (args) => ({ path: args.path, namespace: 'optional-absent' }));
    b.onLoad({ filter: /.*/, namespace: 'optional-absent' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`optional module ${args.path} is not part of this bundle`)});`,
      loader: 'js',
    }));
  },
};

/**
 * Built-ins the short-lived CNI binaries must not load: node:http costs a
 * fresh process about 9 ms of CPU to load and 35 ms for a first request
 * (docs/benchmarks.md, "CNI"); every client of the control socket uses
 * lib/agent-http.ts (node:net) instead. The build fails if one creeps in.
 */
const FORBIDDEN_BUILTINS = { tortie: ['node:http', 'http'], 'tortie-ipam': ['node:http', 'http'] };

/**
 * V8 keeps a script's source for as long as it runs, as one byte per
 * character only if every character is Latin-1; a single "→" doubles it
 * (the agent's 7.7 MB bundle: 15 MB instead of 7.7). esbuild's ascii charset
 * escapes strings, regexes and identifiers but keeps comments as written,
 * so what is left above U+00FF should be in comments, where an escape is
 * harmless; the build checks that, and fails rather than change a raw template.
 */
async function latin1Only(file) {
  const text = await readFile(file, 'utf8');
  if (!/[\u0100-\uffff]/.test(text)) return;
  // Only comments may be rewritten: a raw template (String.raw, tagged) keeps its
  // characters as written, and U+2028/2029 end a // comment. Without comments
  // (esbuild drops them when minifying whitespace) nothing may be left above U+00FF.
  if (/[\u2028\u2029]/.test(text)) throw new Error(`${file}: U+2028/U+2029 in the bundle; escape it in the source`);
  const code = (await transform(text, { loader: 'js', minifyWhitespace: true, charset: 'ascii', legalComments: 'none' })).code;
  const raw = code.match(/[\u0100-\uffff]/);
  if (raw) throw new Error(`${file}: ${JSON.stringify(raw[0])} outside a comment (a raw or tagged template?); escape it in the source`);
  // \uXXXX per UTF-16 unit: the same character in a comment, a string or a regex (with or without the u flag).
  const fixed = text.replace(/[\u0100-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (fixed !== text) await writeFile(file, fixed);
}

function shebang(name) {
  const flags = NODE_FLAGS[name] ?? [];
  return flags.length ? `#!/usr/bin/env -S node ${flags.join(' ')}` : '#!/usr/bin/env node';
}

async function bundleOne(name, entry, version) {
  // Written beside its target and renamed over it: a program running the
  // previous bundle (a lab, a runtime calling the CNI plugin) never sees a
  // missing or half-written file.
  const target = join(binDir, name);
  const outfile = join(binDir, `.${name}.tmp-${process.pid}`);
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    packages: 'bundle',
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // ESM dependencies (yargs) call createRequire(import.meta.url); in a
    // CommonJS bundle that URL comes from the bundle's own file name.
    banner: { js: `${shebang(name)}\nconst __tortieImportMetaUrl = require('node:url').pathToFileURL(__filename).href;` },
    minify: false,
    treeShaking: true,
    sourcemap: false,
    // Non-ASCII in strings and regexes becomes \u escapes; see latin1Only() for the rest.
    charset: 'ascii',
    define: {
      TORTIE_VERSION: JSON.stringify(version),
      'process.env.NODE_ENV': '"production"',
      'import.meta.url': '__tortieImportMetaUrl',
    },
    metafile: true,
    plugins: [optionalAbsent],
    logLevel: 'warning',
  });
  // Anything left external must be a Node built-in; otherwise the bundle
  // would reach for node_modules at run time.
  const output = result.metafile.outputs[relative(root, outfile)];
  if (output === undefined) throw new Error(`esbuild wrote no output for ${name}`);
  const strays = output.imports.filter((i) => i.external && !builtins.has(i.path));
  if (strays.length > 0) {
    throw new Error(`${name}: not bundled: ${strays.map((i) => i.path).join(', ')}`);
  }
  const forbidden = output.imports.filter((i) => (FORBIDDEN_BUILTINS[name] ?? []).includes(i.path));
  if (forbidden.length > 0) {
    throw new Error(`${name}: imports ${forbidden.map((i) => i.path).join(', ')}, which a CNI binary must not load (use lib/agent-http.ts)`);
  }
  await latin1Only(outfile);
  await chmod(outfile, 0o755);
  const { size } = await stat(outfile);
  await rename(outfile, target);
  return { name, entry, size };
}

async function main() {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  await mkdir(binDir, { recursive: true });
  // Bundles no longer built go (hidden files may be another build's work in progress).
  for (const f of await readdir(binDir)) {
    if (!(f in BUNDLES) && !f.startsWith('.')) await rm(join(binDir, f), { force: true });
  }
  await writeFile(
    join(distDir, 'package.json'),
    `${JSON.stringify({ type: 'commonjs', private: true }, null, 2)}\n`,
  );
  const built = await Promise.all(
    Object.entries(BUNDLES).map(([name, entry]) => bundleOne(name, entry, pkg.version)),
  );
  for (const b of built) {
    console.log(`build: dist/bin/${b.name.padEnd(13)} ${String(b.size).padStart(8)} bytes  <- ${b.entry}`);
  }
}

main().catch((err) => {
  console.error(`build: failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
