// axe-core on a page as the browser renders it (injected, so the context is created with bypassCSP: the portal's CSP
// allows no script at all). Every violation is reported; those of impact serious or critical fail the test.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axe = require('axe-core');

export const FAILING_IMPACTS = new Set(['serious', 'critical']);

// Runs axe on `page`; returns {violations, failing}. `label` names the page in the report.
export async function checkAccessibility(page, label) {
  const injected = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!injected)
    await page.addScriptTag({ content: axe.source });
  const results = await page.evaluate(async () => {
    // All rules of the default run: WCAG 2.0/2.1/2.2 A and AA and axe's best practices.
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html, summary: n.failureSummary })),
    }));
  });
  const failing = results.filter((v) => FAILING_IMPACTS.has(v.impact));
  return { label, url: page.url(), violations: results, failing };
}

export function describeViolations(report) {
  const lines = [];
  for (const v of report.violations) {
    lines.push(`  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`);
    for (const n of v.nodes.slice(0, 5))
      lines.push(`      ${n.target}\n        ${n.html.slice(0, 200)}\n` +
                 `        ${n.summary?.replaceAll('\n', '\n        ')}`);
    if (v.nodes.length > 5)
      lines.push(`      ... and ${v.nodes.length - 5} more`);
  }
  return lines.join('\n');
}
