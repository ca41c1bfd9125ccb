package io.tenantexport.common.spec;

/**
 * One metric of a table, aggregated per tenant, window and combination of dimension values.
 *
 * @param name metric name, unique across the spec (it is a warehouse key column)
 * @param kind count, sum, min or max
 * @param column the numeric column for sum/min/max; null for count
 */
public record MetricSpec(String name, Kind kind, String column) implements java.io.Serializable {
  public enum Kind {
    COUNT,
    SUM,
    MIN,
    MAX
  }
}
