// The project's Allure 3 configuration: `hil report` (harness/report/html.py) builds the report
// with `allure generate --config allurerc.mjs` and checks the quality gate with
// `allure quality-gate --config allurerc.mjs`. What depends on the run (its trend's history
// file, the categories of the failure table, the product lines and firmware it ran) comes
// from a JSON file `hil report` writes and names in HIL_REPORT_CONTEXT; without it (allure
// run by hand) the report still builds, with Allure's own categories and no environments.
// docs/reports.md says how to read the result.
import { readFileSync } from "node:fs";

// allure 3.18's quality gate calls Iterator.prototype.toArray, which Node.js has from
// version 22; Debian's Node.js 20 lacks it. Defined here, where every allure command that
// reads this configuration passes first, and only where it is missing.
const iteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
if (typeof iteratorPrototype.toArray !== "function") {
  Object.defineProperty(iteratorPrototype, "toArray", {
    value() {
      return Array.from({ [Symbol.iterator]: () => this });
    },
    configurable: true,
    writable: true,
  });
}

const contextFile = process.env.HIL_REPORT_CONTEXT;
const context = contextFile ? JSON.parse(readFileSync(contextFile, "utf-8")) : {};

// Runs kept in each trend's history file (about 200 KB a run of the whole matrix): a month
// of nightlies, the recent gates and regressions, a few development runs.
const HISTORY_LIMITS = { nightly: 30, gate: 20, regression: 20, dev: 5 };

// One Allure environment per product line and firmware under test: its own statistics,
// trend and variables (devices, models, GUI generation), chosen in the report's
// "Environment" menu. A test belongs to the environment of its device's labels.
const hasLabel = (labels, name, value) =>
  labels.some((label) => label.name === name && label.value === value);
const environments = Object.fromEntries(
  (context.environments ?? []).map((env) => [
    env.id,
    {
      name: env.name,
      variables: env.variables,
      matcher: ({ labels }) =>
        hasLabel(labels, "product_line", env.line) && hasLabel(labels, "firmware", env.firmware),
    },
  ]),
);

export default {
  name: context.name ?? "HIL password reset",
  historyPath: context.historyPath ?? "reports/history/dev.jsonl",
  historyLimit: HISTORY_LIMITS[context.trend] ?? HISTORY_LIMITS.dev,
  appendHistory: context.appendHistory ?? true,
  // The failure kinds of harness/errors.py's FAILURE_TABLE, first match wins.
  ...(context.categories ? { categories: context.categories } : {}),
  ...(Object.keys(environments).length ? { environments } : {}),
  // The quality gate of a run: at least one test, and no test failed or broken, whatever
  // its kind (a failure of the lab keeps a run from being a pass, as in the release gate).
  // `hil report` prints the result and exits 0 anyway unless given --quality-gate.
  qualityGate: {
    rules: [{ id: "run", minTestsCount: 1, maxFailures: 0 }],
  },
  plugins: {
    awesome: {
      options: {
        reportName: context.name ?? "HIL password reset",
        singleFile: context.singleFile ?? false,
        // The tree a release manager reads: product line, firmware, device, then tests.
        groupBy: ["product_line", "firmware", "device"],
      },
    },
    // The AI-oriented markdown copy of every result is not wanted beside the report.
    agent: { enabled: false },
  },
};
