package io.tenantexport.jobs.cli;

import io.tenantexport.common.agg.WindowAggregation;
import io.tenantexport.schemas.WarehouseRollup;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The verdict of {@code reconcile}, from rows alone (no I/O): for each tenant and window, the live
 * and the shadow rollups compared by number of rows, per-metric sums of {@code value} and {@code
 * row_count}, the SHA-256 checksum the {@code WINDOW_RECEIPT} carries ({@link
 * WindowAggregation#checksum}), and row by row.
 *
 * <p>Which windows count. Both sides export a tenant's windows in window order (a window closes
 * when the tenant's own clock passes its end plus the allowed lateness, or when the tenant goes
 * idle, and then every earlier window is closed too), and {@code reconcile} only reads the tables
 * once both consumer groups have committed the input's end offsets of the moment it started ({@code
 * started}). So a window present on one side only is a mismatch when
 *
 * <ul>
 *   <li>it starts at or before the tenant's horizon, the earlier of the two sides' latest window:
 *       the other side has closed later windows, so it skipped this one; or
 *   <li>its side exported it before {@code started}: input that existed then closed it, and the
 *       other side has read all of that input.
 * </ul>
 *
 * Any other one-sided window was closed by input that arrived after {@code started} and the other
 * side has not closed it yet: it is listed as not compared, and never decides the verdict. A window
 * on both sides is always compared.
 */
final class ReconcileComparison {
  private ReconcileComparison() {}

  enum Side {
    LIVE,
    SHADOW
  }

  /** The sum of a metric's {@code value} (nulls add nothing) and of its {@code row_count}. */
  record Sums(BigDecimal value, long rowCount) {
    boolean sameAs(Sums o) {
      return o != null && value.compareTo(o.value) == 0 && rowCount == o.rowCount;
    }
  }

  /** One side's rows of one tenant window, in canonical order (table, metric, dimensions). */
  record Window(Instant start, List<ReconcileRow> rows) {
    static final Comparator<ReconcileRow> CANONICAL =
        Comparator.comparing(ReconcileRow::sourceTable)
            .thenComparing(ReconcileRow::metric)
            .thenComparing(ReconcileRow::dimensions);

    Window {
      rows = rows.stream().sorted(CANONICAL).toList();
    }

    /** The checksum of the rows, as the window's receipt carries it. */
    String checksum() {
      List<WarehouseRollup> rollups = new ArrayList<>(rows.size());
      for (ReconcileRow r : rows) {
        rollups.add(
            WarehouseRollup.newBuilder()
                .setTenantId(r.tenant())
                .setSourceTable(r.sourceTable())
                .setMetric(r.metric())
                .setDimensions(r.dimensions())
                .setWindowStart(r.windowStart())
                .setWindowEnd(r.windowEnd())
                .setValue(r.value() == null ? null : r.value().toPlainString())
                .setRowCount(r.rowCount())
                // Not part of the checksum; the record requires them.
                .setRevision(0)
                .setExportVersion(0)
                .build());
      }
      return WindowAggregation.checksum(rollups);
    }

    /** Per metric, named {@code <metric> (<table>)}, the sums of its rows. */
    Map<String, Sums> metrics() {
      Map<String, Sums> sums = new TreeMap<>();
      for (ReconcileRow r : rows) {
        sums.merge(
            metricName(r),
            new Sums(r.value() == null ? BigDecimal.ZERO : r.value(), r.rowCount()),
            (a, b) -> new Sums(a.value.add(b.value), a.rowCount + b.rowCount));
      }
      return sums;
    }

    Instant firstExported() {
      return rows.stream()
          .map(ReconcileRow::exportedAt)
          .min(Comparator.naturalOrder())
          .orElse(null);
    }
  }

  /** A metric whose sums differ; a side without the metric has null sums. */
  record MetricDifference(String metric, Sums live, Sums shadow) {}

  /** A row that differs or exists on one side only (the other is null). */
  record RowDifference(String cell, ReconcileRow live, ReconcileRow shadow) {}

  /**
   * One tenant window; {@code live} or {@code shadow} is null when that side has no row of it.
   * Metric and row differences are empty when the window is equal.
   */
  record WindowResult(
      Instant start,
      Window live,
      Window shadow,
      List<MetricDifference> metrics,
      List<RowDifference> rows) {
    boolean equal() {
      return live != null && shadow != null && rows.isEmpty();
    }

    /** The side that has the window when the other has none, else null. */
    Side onlyIn() {
      return shadow == null ? Side.LIVE : live == null ? Side.SHADOW : null;
    }
  }

  /**
   * What was found for one tenant: the windows that decide the verdict, in window order, and the
   * one-sided windows not compared (closed by input newer than the reconcile).
   */
  record TenantResult(String tenant, List<WindowResult> compared, List<WindowResult> notCompared) {
    List<WindowResult> differing() {
      return compared.stream().filter(w -> !w.equal()).toList();
    }

    int equalCount() {
      return compared.size() - differing().size();
    }
  }

  /** The verdict over every tenant asked for, in tenant order. */
  record Result(Instant started, List<TenantResult> tenants) {
    boolean clean() {
      return tenants.stream().allMatch(t -> t.differing().isEmpty());
    }

    int compared() {
      return tenants.stream().mapToInt(t -> t.compared().size()).sum();
    }

    int differing() {
      return tenants.stream().mapToInt(t -> t.differing().size()).sum();
    }
  }

  /**
   * Compares the rows of {@code tenants} (rows of other tenants are ignored); {@code started} is
   * when reconcile began, by the warehouse's clock, before it read the input's end offsets.
   */
  static Result compare(
      Collection<String> tenants,
      List<ReconcileRow> live,
      List<ReconcileRow> shadow,
      Instant started) {
    List<TenantResult> results = new ArrayList<>();
    for (String tenant : new TreeSet<>(tenants)) {
      results.add(compareTenant(tenant, windows(tenant, live), windows(tenant, shadow), started));
    }
    return new Result(started, List.copyOf(results));
  }

  private static TreeMap<Instant, Window> windows(String tenant, List<ReconcileRow> rows) {
    TreeMap<Instant, List<ReconcileRow>> byStart = new TreeMap<>();
    for (ReconcileRow r : rows) {
      if (r.tenant().equals(tenant)) {
        byStart.computeIfAbsent(r.windowStart(), s -> new ArrayList<>()).add(r);
      }
    }
    TreeMap<Instant, Window> windows = new TreeMap<>();
    byStart.forEach((start, list) -> windows.put(start, new Window(start, list)));
    return windows;
  }

  private static TenantResult compareTenant(
      String tenant,
      TreeMap<Instant, Window> live,
      TreeMap<Instant, Window> shadow,
      Instant started) {
    Instant horizon =
        live.isEmpty() || shadow.isEmpty() ? null : min(live.lastKey(), shadow.lastKey());
    TreeSet<Instant> starts = new TreeSet<>(live.keySet());
    starts.addAll(shadow.keySet());
    List<WindowResult> compared = new ArrayList<>();
    List<WindowResult> notCompared = new ArrayList<>();
    for (Instant start : starts) {
      WindowResult w = compareWindow(start, live.get(start), shadow.get(start));
      Window present = w.live() != null ? w.live() : w.shadow();
      boolean mustMatch =
          w.onlyIn() == null
              || (horizon != null && !start.isAfter(horizon))
              || present.firstExported().isBefore(started);
      (mustMatch ? compared : notCompared).add(w);
    }
    return new TenantResult(tenant, List.copyOf(compared), List.copyOf(notCompared));
  }

  private static WindowResult compareWindow(Instant start, Window live, Window shadow) {
    Map<String, Sums> liveSums = live == null ? Map.of() : live.metrics();
    Map<String, Sums> shadowSums = shadow == null ? Map.of() : shadow.metrics();
    TreeSet<String> metricNames = new TreeSet<>(liveSums.keySet());
    metricNames.addAll(shadowSums.keySet());
    List<MetricDifference> metrics = new ArrayList<>();
    for (String m : metricNames) {
      Sums l = liveSums.get(m);
      Sums s = shadowSums.get(m);
      if (l == null || !l.sameAs(s)) {
        metrics.add(new MetricDifference(m, l, s));
      }
    }
    Map<String, ReconcileRow> liveRows = byCell(live);
    Map<String, ReconcileRow> shadowRows = byCell(shadow);
    TreeSet<String> cells = new TreeSet<>(liveRows.keySet());
    cells.addAll(shadowRows.keySet());
    List<RowDifference> rows = new ArrayList<>();
    for (String cell : cells) {
      ReconcileRow l = liveRows.get(cell);
      ReconcileRow s = shadowRows.get(cell);
      if (l == null || s == null || !l.sameContent(s)) {
        rows.add(new RowDifference(cell, l, s));
      }
    }
    return new WindowResult(start, live, shadow, List.copyOf(metrics), List.copyOf(rows));
  }

  private static Map<String, ReconcileRow> byCell(Window w) {
    Map<String, ReconcileRow> cells = new TreeMap<>();
    if (w != null) {
      for (ReconcileRow r : w.rows()) {
        cells.put(r.cell(), r);
      }
    }
    return cells;
  }

  static String metricName(ReconcileRow r) {
    return r.metric() + " (" + r.sourceTable() + ")";
  }

  private static Instant min(Instant a, Instant b) {
    return a.isBefore(b) ? a : b;
  }
}
