package io.tenantexport.common.spec;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What the job exports from one source table.
 *
 * @param name the table's name as Debezium reports it in {@code source.table}
 * @param mode append-only tables only receive inserts (and snapshot reads); mutable tables also get
 *     updates and deletes, for which the job keeps the last row image per row for {@code retention}
 * @param key primary-key columns; required for mutable tables, where they identify the row
 * @param retention how long a mutable row's image is kept after its last change
 * @param eventTime the timestamp column whose value decides the window of a change
 * @param columns the only columns that leave the job, by name, in declaration order
 * @param dimensions columns the metrics are grouped by
 * @param metrics what is aggregated per window
 */
public record TableSpec(
    String name,
    Mode mode,
    List<String> key,
    Duration retention,
    String eventTime,
    Map<String, ColumnSpec> columns,
    List<String> dimensions,
    List<MetricSpec> metrics)
    implements java.io.Serializable {

  public enum Mode {
    APPEND_ONLY,
    MUTABLE
  }

  public boolean isMutable() {
    return mode == Mode.MUTABLE;
  }
}
