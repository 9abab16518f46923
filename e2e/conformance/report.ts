// The result of a run, from the JUnit XML ginkgo writes (--junit-report): one entry per spec with its state
// and duration; written back as a small Markdown file and a trimmed JUnit XML (names, states, durations,
// the first lines of each failure: ginkgo's own file carries every spec's full log).
import { skipReason, type NamedSkip } from './selection.ts';

export type SpecState = 'passed' | 'failed' | 'skipped';

export interface SpecResult {
  name: string;
  state: SpecState;
  seconds: number;
  /** Failure message, or the skip's reason. */
  message?: string;
}

const unescape = (s: string) =>
  s.replace(/&#xA;/gi, '\n').replace(/&#x9;/gi, '\t').replace(/&#(\d+);/g, (_m, d: string) => String.fromCharCode(Number(d))).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function attribute(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescape(m[1]!) : undefined;
}

/**
 * The specs of a ginkgo JUnit report. Ginkgo also lists the suite's setup nodes ([SynchronizedBeforeSuite],
 * [ReportAfterSuite], ...) as test cases: they are kept when they failed (a failed setup fails the run) and
 * dropped otherwise. Specs ginkgo skipped because they were not selected are dropped; specs the focus selects
 * and a named skip leaves out get the reason of that skip.
 */
export function parseJunit(xml: string, skips: NamedSkip[] = [], focus: string[] = []): SpecResult[] {
  const selected = (name: string) => focus.length === 0 || focus.some((f) => new RegExp(f).test(name));
  const out: SpecResult[] = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const tag = m[1]!;
    const body = m[3] ?? '';
    const raw = attribute(tag, 'name') ?? '';
    const name = raw.replace(/^\[It\]\s*/, '');
    const status = attribute(tag, 'status');
    const seconds = Number(attribute(tag, 'time') ?? '0');
    const failure = /<(failure|error)\b([^>]*)>([\s\S]*?)<\/\1>|<(failure|error)\b([^>]*)\/>/.exec(body);
    const isSetupNode = /^\[(SynchronizedBeforeSuite|SynchronizedAfterSuite|BeforeSuite|AfterSuite|ReportAfterSuite|ReportBeforeSuite|DeferCleanup)/.test(raw);
    if (failure || status === 'failed' || status === 'panicked' || status === 'timedout' || status === 'interrupted') {
      const message = failure ? attribute(failure[2] ?? failure[5] ?? '', 'message') ?? unescape(failure[3] ?? '') : status;
      out.push({ name, state: 'failed', seconds, message: message?.trim() });
      continue;
    }
    if (isSetupNode) continue;
    if (status === 'skipped' || /<skipped\b/.test(body)) {
      const reason = selected(name) ? skipReason(name, skips) : undefined;
      if (reason !== undefined) out.push({ name, state: 'skipped', seconds, message: reason });
      continue;
    }
    out.push({ name, state: 'passed', seconds });
  }
  return out;
}

export interface RunSummary {
  version: string;
  startedAt: Date;
  seconds: number;
  nodes: number;
  focus: string[];
  skips: NamedSkip[];
  /** Images the selected specs' suite lists that were not built here. */
  missingImages: string[];
  cluster: string;
  results: SpecResult[];
}

export const counts = (results: SpecResult[]) => ({
  passed: results.filter((r) => r.state === 'passed').length,
  failed: results.filter((r) => r.state === 'failed').length,
  skipped: results.filter((r) => r.state === 'skipped').length,
});

const minutes = (s: number) => `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
const firstLine = (s: string | undefined, max = 300) => (s ?? '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ').slice(0, max).replace(/\|/g, '\\|');

export function markdownReport(run: RunSummary): string {
  const c = counts(run.results);
  const byName = (a: SpecResult, b: SpecResult) => a.name.localeCompare(b.name);
  const lines = [
    `# Conformance ${run.version}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`,
    '',
    `Upstream \`e2e.test\` ${run.version} (built from \`k8s.io/kubernetes/test/e2e\`), run by \`npm run conformance\` on ${run.startedAt.toISOString()}`,
    `against ${run.cluster}; ${run.nodes} ginkgo processes; ${minutes(run.seconds)} for the suite.`,
    '',
    `Focus: ${run.focus.map((f) => `\`${f}\``).join(', ')}`,
    '',
    ...(run.skips.length ? ['## Named skips', '', '| specs | why |', '|---|---|', ...run.skips.map((s) => `| \`${s.pattern.replace(/\|/g, '\\|')}\` | ${s.reason} |`), ''] : []),
    ...(run.missingImages.length ? [`Images the suite lists that are not built here: ${run.missingImages.map((i) => `\`${i}\``).join(', ')}.`, ''] : []),
    `## Failed (${c.failed})`,
    '',
    ...(c.failed ? ['| spec | seconds | message |', '|---|---|---|', ...run.results.filter((r) => r.state === 'failed').sort(byName).map((r) => `| ${r.name} | ${r.seconds.toFixed(1)} | ${firstLine(r.message)} |`)] : ['none']),
    '',
    `## Skipped by name (${c.skipped})`,
    '',
    ...(c.skipped ? ['| spec | why |', '|---|---|', ...run.results.filter((r) => r.state === 'skipped').sort(byName).map((r) => `| ${r.name} | ${r.message ?? ''} |`)] : ['none']),
    '',
    `## Passed (${c.passed})`,
    '',
    '| spec | seconds |',
    '|---|---|',
    ...run.results.filter((r) => r.state === 'passed').sort(byName).map((r) => `| ${r.name} | ${r.seconds.toFixed(1)} |`),
    '',
  ];
  return lines.join('\n');
}

/** A small JUnit XML of the results (what CI dashboards read). */
export function junitReport(run: RunSummary): string {
  const c = counts(run.results);
  const cases = run.results.map((r) => {
    const open = `    <testcase name="${escape(r.name)}" classname="Kubernetes e2e suite" time="${r.seconds.toFixed(3)}"`;
    if (r.state === 'passed') return `${open}/>`;
    if (r.state === 'skipped') return `${open}>\n      <skipped message="${escape(r.message ?? '')}"/>\n    </testcase>`;
    return `${open}>\n      <failure message="${escape(firstLine(r.message, 2000))}"/>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${run.results.length}" failures="${c.failed}" skipped="${c.skipped}" time="${run.seconds.toFixed(1)}">`,
    `  <testsuite name="Kubernetes e2e suite ${escape(run.version)}" tests="${run.results.length}" failures="${c.failed}" skipped="${c.skipped}" time="${run.seconds.toFixed(1)}" timestamp="${run.startedAt.toISOString()}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
