package io.tenantexport.jobs.cli;

import io.tenantexport.jobs.cli.ReconcileComparison.MetricDifference;
import io.tenantexport.jobs.cli.ReconcileComparison.Result;
import io.tenantexport.jobs.cli.ReconcileComparison.RowDifference;
import io.tenantexport.jobs.cli.ReconcileComparison.Sums;
import io.tenantexport.jobs.cli.ReconcileComparison.TenantResult;
import io.tenantexport.jobs.cli.ReconcileComparison.Window;
import io.tenantexport.jobs.cli.ReconcileComparison.WindowResult;
import java.util.List;
import java.util.stream.Collectors;

/**
 * {@code reconcile}'s report as an operator reads it: per tenant the windows compared, equal and
 * differing; for each differing window (up to {@value #MAX_WINDOWS} per tenant) the row counts and
 * checksums of both sides, the metrics whose sums differ and the differing rows (up to {@value
 * #MAX_ROWS}) with both values; then the one-sided windows left out, and one verdict line.
 */
final class ReconcileReport {
  static final int MAX_WINDOWS = 20;
  static final int MAX_ROWS = 10;

  private ReconcileReport() {}

  static String render(Result result) {
    StringBuilder sb = new StringBuilder();
    for (TenantResult t : result.tenants()) {
      List<WindowResult> differing = t.differing();
      sb.append(
          String.format(
              "tenant %s: %d windows compared, %d equal, %d differing%n",
              t.tenant(), t.compared().size(), t.equalCount(), differing.size()));
      for (WindowResult w : differing.subList(0, Math.min(MAX_WINDOWS, differing.size()))) {
        window(sb, w);
      }
      if (differing.size() > MAX_WINDOWS) {
        sb.append(
            String.format("  ... and %d more differing windows%n", differing.size() - MAX_WINDOWS));
      }
      if (!t.notCompared().isEmpty()) {
        sb.append(
            String.format(
                "  not compared: %d later window(s) only in %s, closed by input newer than this"
                    + " reconcile (first %s)%n",
                t.notCompared().size(),
                t.notCompared().get(0).onlyIn().name().toLowerCase(),
                t.notCompared().get(0).start()));
      }
    }
    sb.append(
        result.clean()
            ? String.format(
                "reconcile: CLEAN: %d windows of %d tenant(s) compared, all equal%n",
                result.compared(), result.tenants().size())
            : String.format(
                "reconcile: MISMATCH: %d of %d windows differ (%s)%n",
                result.differing(),
                result.compared(),
                result.tenants().stream()
                    .filter(t -> !t.differing().isEmpty())
                    .map(t -> t.tenant() + ": " + t.differing().size())
                    .collect(Collectors.joining(", "))));
    return sb.toString();
  }

  private static void window(StringBuilder sb, WindowResult w) {
    sb.append("  window ").append(w.start()).append(": ");
    if (w.onlyIn() != null) {
      Window present = w.onlyIn() == ReconcileComparison.Side.LIVE ? w.live() : w.shadow();
      sb.append(
          String.format(
              "only in %s (%d rows, exported %s), missing in %s%n",
              w.onlyIn().name().toLowerCase(),
              present.rows().size(),
              present.firstExported(),
              w.onlyIn() == ReconcileComparison.Side.LIVE ? "shadow" : "live"));
    } else {
      sb.append(
          String.format(
              "live %d rows checksum %s, shadow %d rows checksum %s%n",
              w.live().rows().size(),
              w.live().checksum(),
              w.shadow().rows().size(),
              w.shadow().checksum()));
    }
    for (MetricDifference m : w.metrics()) {
      sb.append(
          String.format(
              "    metric %s: sum of value live %s, shadow %s; sum of row_count live %s, shadow"
                  + " %s%n",
              m.metric(),
              m.live() == null ? "-" : plain(m.live()),
              m.shadow() == null ? "-" : plain(m.shadow()),
              m.live() == null ? "-" : m.live().rowCount(),
              m.shadow() == null ? "-" : m.shadow().rowCount()));
    }
    List<RowDifference> rows = w.rows();
    for (RowDifference r : rows.subList(0, Math.min(MAX_ROWS, rows.size()))) {
      sb.append(
          String.format(
              "    row %s: live %s, shadow %s%n", r.cell(), value(r.live()), value(r.shadow())));
    }
    if (rows.size() > MAX_ROWS) {
      sb.append(String.format("    ... and %d more differing rows%n", rows.size() - MAX_ROWS));
    }
  }

  private static String plain(Sums s) {
    return s.value().signum() == 0 ? "0" : s.value().stripTrailingZeros().toPlainString();
  }

  private static String value(ReconcileRow r) {
    if (r == null) {
      return "(no row)";
    }
    String v = r.value() == null ? "null" : r.value().stripTrailingZeros().toPlainString();
    return "value " + v + " row_count " + r.rowCount() + " window_end " + r.windowEnd();
  }
}
