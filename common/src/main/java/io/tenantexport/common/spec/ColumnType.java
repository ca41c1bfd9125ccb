package io.tenantexport.common.spec;

import java.util.Locale;

/**
 * How a column's value is read when the Debezium envelope carries no schema, and how it is rendered
 * in the outputs. With a schema wrapper the envelope's own type names win (see the CDC decoder).
 */
public enum ColumnType {
  STRING,
  LONG,
  DOUBLE,
  BOOLEAN,
  /**
   * Debezium {@code precise} decimal: base64 of the two's-complement unscaled value; needs a scale.
   */
  DECIMAL,
  /** Epoch milliseconds ({@code io.debezium.time.Timestamp}); see {@link ColumnSpec#unit()}. */
  TIMESTAMP,
  /** ISO-8601 with offset ({@code io.debezium.time.ZonedTimestamp}). */
  ZONED_TIMESTAMP,
  /** Days since the epoch ({@code io.debezium.time.Date}). */
  DATE,
  /** Time of day; see {@link ColumnSpec#unit()}. */
  TIME,
  /** A JSON document; Debezium sends it as a string ({@code io.debezium.data.Json}). */
  JSON;

  static ColumnType parse(String raw, String where) {
    try {
      return ColumnType.valueOf(raw.trim().toUpperCase(Locale.ROOT));
    } catch (RuntimeException e) {
      throw new SpecException(
          where
              + ": unknown column type '"
              + raw
              + "' (one of string, long, double,"
              + " boolean, decimal, timestamp, zoned_timestamp, date, time, json)");
    }
  }

  /** Whether a metric may sum, min or max this column. */
  public boolean isNumeric() {
    return this == LONG || this == DOUBLE || this == DECIMAL;
  }
}
