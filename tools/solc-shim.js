#!/usr/bin/env node
// A native-solc-compatible front end for npm's solc-js (WebAssembly).
//
// py-solc-x (ape-solidity), forge and slither call a native `solc`:
//   solc --version                        -> native banner, parsed for X.Y.Z+commit.H
//   solc --standard-json [--base-path P] [--include-path I]... [--allow-paths ...]  (JSON on stdin)
// The compiler module is chosen by the name this file is linked as:
//   solc-v0.8.37 -> npm `solc`, solc-v0.8.19 -> npm alias `solc-0.8.19`.
"use strict";
const fs = require("fs");
const path = require("path");

const invoked = path.basename(process.argv[1]);
const match = /solc-v(\d+\.\d+\.\d+)/.exec(invoked);
const wanted = match ? match[1] : null;
const root = path.resolve(__dirname, "..");
const moduleDir = path.join(root, "node_modules", wanted && wanted !== "0.8.37" ? `solc-${wanted}` : "solc");

function versionOf() {
  // Loading the wasm costs ~0.5 s: cache the banner beside the compiler package.
  const cache = path.join(moduleDir, ".native-version");
  try {
    return fs.readFileSync(cache, "utf8");
  } catch (_) {
    const v = require(moduleDir).version(); // e.g. 0.8.37+commit.f401782d.Emscripten.clang
    const banner = `solc, the solidity compiler commandline interface\nVersion: ${v.replace("Emscripten.clang", "Linux.g++")}\n`;
    try { fs.writeFileSync(cache, banner); } catch (_) { /* read-only install: no cache */ }
    return banner;
  }
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  process.stdout.write(versionOf());
} else if (args.includes("--standard-json")) {
  const bases = [];
  for (let i = 0; i < args.length; i++) {
    if ((args[i] === "--base-path" || args[i] === "--include-path") && args[i + 1]) bases.push(args[++i]);
  }
  if (bases.length === 0) bases.push(process.cwd());
  const findImports = (p) => {
    for (const b of [...bases, root, path.join(root, "node_modules")]) {
      const full = path.resolve(b, p);
      if (fs.existsSync(full)) return { contents: fs.readFileSync(full, "utf8") };
    }
    return { error: `File not found: ${p}` };
  };
  const input = fs.readFileSync(0, "utf8");
  const solc = require(moduleDir);
  process.stdout.write(solc.compile(input, { import: findImports }));
} else {
  process.stderr.write("solc-shim: only --version and --standard-json are supported\n");
  process.exitCode = 2;
}
