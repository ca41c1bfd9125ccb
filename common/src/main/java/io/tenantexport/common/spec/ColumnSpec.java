package io.tenantexport.common.spec;

/**
 * One exported column.
 *
 * @param name column name in the source table
 * @param type how it is read without a schema and rendered in the outputs
 * @param scale decimal scale, for {@link ColumnType#DECIMAL} without a schema wrapper; else -1
 * @param unit for TIMESTAMP and TIME numbers without a schema: "ms", "us" or "ns"
 */
public record ColumnSpec(String name, ColumnType type, int scale, String unit)
    implements java.io.Serializable {}
