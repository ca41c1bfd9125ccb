package io.tenantexport.jobs.cli;

import java.math.BigDecimal;
import java.time.Instant;

/**
 * One rollup row as {@code reconcile} reads it from the live or the shadow {@code metric_rollup}:
 * the canonical content (what two correct exports of the same input must agree on) and, apart, when
 * it was exported, which only decides whether a window present on one side must also be on the
 * other. {@code export_version}, {@code revision}, {@code policy_version} and {@code exported_at}
 * are not compared: a candidate may legitimately carry another export version, the revision also
 * counts changes that move no exported number (an update of a column no metric reads), and
 * reconcile compares what a tenant's dashboard would show. This is the content the {@code
 * WINDOW_RECEIPT} checksum covers.
 *
 * @param value the exact decimal, null for a min or max that saw no value
 */
record ReconcileRow(
    String tenant,
    String sourceTable,
    String metric,
    String dimensions,
    Instant windowStart,
    Instant windowEnd,
    BigDecimal value,
    long rowCount,
    Instant exportedAt) {

  /** Table, metric and dimension values: the row's key within its tenant's window. */
  String cell() {
    return sourceTable + " " + metric + " " + dimensions;
  }

  /** Same canonical content: values compared as numbers, so 12.50 equals 12.5. */
  boolean sameContent(ReconcileRow o) {
    return sourceTable.equals(o.sourceTable)
        && metric.equals(o.metric)
        && dimensions.equals(o.dimensions)
        && windowStart.equals(o.windowStart)
        && windowEnd.equals(o.windowEnd)
        && rowCount == o.rowCount
        && (value == null ? o.value == null : o.value != null && value.compareTo(o.value) == 0);
  }
}
