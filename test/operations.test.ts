/**
 * The operations files in deploy/: the Grafana dashboard (deploy/grafana/image-origin.json) and
 * the Prometheus alert rules (deploy/prometheus/alerts.yaml). Every metric either names must be
 * one the origin exports: the names are read from the origin's own registry (origin/metrics.ts,
 * as /metrics serves it), never from a list in this test, so metrics added or renamed elsewhere
 * are checked as they are. promtool (Debian's prometheus package) checks the rules, and parses
 * every dashboard expression too, by checking them as recording rules.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { createMetrics } from '../origin/metrics.js';
import { PROJECT_ROOT } from '../support/paths.js';
import { requireSystem } from '../support/system.js';
import { runToEnd } from './helpers/child-processes.js';

const DASHBOARD = path.join(PROJECT_ROOT, 'deploy/grafana/image-origin.json');
const ALERTS = path.join(PROJECT_ROOT, 'deploy/prometheus/alerts.yaml');
const PROMTOOL = '/usr/bin/promtool';

interface Target {
  readonly refId: string;
  readonly expr: string;
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource: { readonly type: string; readonly uid: string };
  readonly gridPos: { readonly h: number; readonly w: number; readonly x: number; readonly y: number };
  readonly targets: readonly Target[];
}
interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string }[] };
  readonly panels: readonly Panel[];
}

/** Every series name /metrics serves: histograms as their _bucket, _sum and _count. */
async function exportedSeries(): Promise<Set<string>> {
  const metrics = createMetrics({ queueDepth: () => 0, inflightTransforms: () => 0 });
  const names = new Set<string>();
  for (const [, name, type] of (await metrics.text()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
  }
  return names;
}

/** Metric names in a PromQL expression: identifiers before `{`, `[`, or standing alone, minus PromQL's own words and label names. */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutLabels = withoutStrings.replace(/\{[^}]*\}/g, '{}').replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const words = withoutLabels.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return words.filter((w) => /_/.test(w) && !/^\$__/.test(w) && !PROMQL_WORDS.has(w));
}
const PROMQL_WORDS = new Set(['histogram_quantile', 'max_over_time', 'min_over_time', 'avg_over_time', 'sum_over_time', 'rate_interval', 'label_values', 'count_over_time', 'quantile_over_time', 'label_replace']);

/** Dashboard expressions as PromQL (Grafana's $__rate_interval and $job filled in). */
const asPromQL = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.+');

describe('operations: Grafana dashboard and Prometheus alerts', () => {
  test('the dashboard is well-formed: panels with ids, places, the data-source variable and queries', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
    assert.equal(dashboard.uid, 'image-origin');
    assert.ok(dashboard.schemaVersion >= 36);
    assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'));
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const panel of dashboard.panels) {
      assert.equal(panel.type, 'timeseries', panel.title);
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, panel.title);
      assert.ok(panel.gridPos.w > 0 && panel.gridPos.w <= 24 && panel.gridPos.h > 0 && panel.gridPos.x + panel.gridPos.w <= 24, panel.title);
      assert.ok(panel.targets.length > 0, `${panel.title} has queries`);
      assert.equal(new Set(panel.targets.map((t) => t.refId)).size, panel.targets.length, `${panel.title}: refIds unique`);
    }
    for (const wanted of ['status', 'hit ratio', 'queue', 'transforms per second', 'degraded', 'shed', 'new variants', 'latency']) {
      assert.ok(dashboard.panels.some((p) => p.title.toLowerCase().includes(wanted)), `a panel for ${wanted}`);
    }
    assert.ok(dashboard.panels.some((p) => p.targets.some((t) => t.expr.includes('histogram_quantile(0.99'))), 'p99');
    assert.ok(dashboard.panels.some((p) => p.targets.some((t) => t.expr.includes('histogram_quantile(0.5'))), 'p50');
  });

  test('every dashboard and alert expression names only metrics the origin exports', async () => {
    // The extractor itself: metric names out, PromQL words, labels and strings not.
    assert.deepEqual(
      metricNames('sum by (le, format) (rate(image_origin_x_bucket{job=~"a_b"}[5m])) and on (job, instance) process_y_bytes > 0.85 * 1073741824'),
      ['image_origin_x_bucket', 'process_y_bytes'],
    );
    const exported = await exportedSeries();
    assert.ok(exported.has('image_origin_requests_total') && exported.has('process_resident_memory_bytes'), 'the registry was read');
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
    const rules = parse(await readFile(ALERTS, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const expressions = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
      ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
    ];
    for (const { where, expr } of expressions) {
      const names = metricNames(asPromQL(expr));
      assert.ok(names.length > 0, `${where}: names a metric`);
      for (const name of names) assert.ok(exported.has(name), `${where}: ${name} is not exported by the origin`);
    }
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    assert.deepEqual(alerts.sort(), ['ImageOriginDegradedSustained', 'ImageOriginMemoryNearLimit', 'ImageOriginShedding', 'ImageOriginStorageErrors']);
  });

  describe('promtool', requireSystem({ file: PROMTOOL, debianPackage: 'prometheus', what: PROMTOOL }), () => {
    test('promtool check rules accepts the alert rules', async () => {
      const out = await runToEnd('promtool', PROMTOOL, ['check', 'rules', ALERTS]);
      assert.match(out, /SUCCESS: 4 rules found/);
    });

    test('every dashboard expression is valid PromQL (checked by promtool as recording rules)', async () => {
      const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
      const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => asPromQL(t.expr)));
      const dir = await mkdtemp(path.join(os.tmpdir(), 'promql-'));
      try {
        const file = path.join(dir, 'dashboard-rules.yaml');
        const rules = exprs.map((expr, i) => `      - record: dashboard:expr${i}\n        expr: ${JSON.stringify(expr)}`).join('\n');
        await writeFile(file, `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
        const out = await runToEnd('promtool', PROMTOOL, ['check', 'rules', file]);
        assert.match(out, new RegExp(`SUCCESS: ${exprs.length} rules found`));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
