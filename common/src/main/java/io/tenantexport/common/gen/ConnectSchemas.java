package io.tenantexport.common.gen;

/**
 * Kafka Connect schema text (as JsonConverter writes it) for the parts of a Debezium envelope that
 * do not depend on the table: field declarations, the {@code source} blocks and the transaction
 * block.
 */
final class ConnectSchemas {
  private static final String SNAPSHOT_ENUM =
      "{\"type\":\"string\",\"optional\":true,"
          + "\"name\":\"io.debezium.data.Enum\",\"version\":1,"
          + "\"parameters\":{\"allowed\":\"true,last,false,incremental\"},\"default\":\"false\",\"field\":\"snapshot\"}";

  static final String POSTGRES_SOURCE =
      "{\"type\":\"struct\",\"fields\":["
          + field("string", false, "version")
          + ","
          + field("string", false, "connector")
          + ","
          + field("string", false, "name")
          + ","
          + field("int64", false, "ts_ms")
          + ","
          + SNAPSHOT_ENUM
          + ","
          + field("string", false, "db")
          + ","
          + field("string", true, "sequence")
          + ","
          + field("string", false, "schema")
          + ","
          + field("string", false, "table")
          + ","
          + field("int64", true, "txId")
          + ","
          + field("int64", true, "lsn")
          + ","
          + field("int64", true, "xmin")
          + "],\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\",\"field\":\"source\"}";

  static final String MYSQL_SOURCE =
      "{\"type\":\"struct\",\"fields\":["
          + field("string", false, "version")
          + ","
          + field("string", false, "connector")
          + ","
          + field("string", false, "name")
          + ","
          + field("int64", false, "ts_ms")
          + ","
          + SNAPSHOT_ENUM
          + ","
          + field("string", false, "db")
          + ","
          + field("string", true, "table")
          + ","
          + field("int64", false, "server_id")
          + ","
          + field("string", true, "gtid")
          + ","
          + field("string", false, "file")
          + ","
          + field("int64", false, "pos")
          + ","
          + field("int32", false, "row")
          + ","
          + field("int64", true, "thread")
          + ","
          + field("string", true, "query")
          + "],\"optional\":false,\"name\":\"io.debezium.connector.mysql.Source\",\"field\":\"source\"}";

  static final String TRANSACTION =
      "{\"type\":\"struct\",\"fields\":["
          + field("string", false, "id")
          + ","
          + field("int64", false, "total_order")
          + ","
          + field("int64", false, "data_collection_order")
          + "],\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}";

  private ConnectSchemas() {}

  static String field(String type, boolean optional, String name) {
    return "{\"type\":\"" + type + "\",\"optional\":" + optional + ",\"field\":\"" + name + "\"}";
  }

  /**
   * A field of a Debezium or Connect logical type such as {@code io.debezium.time.MicroTimestamp}.
   */
  static String logical(String type, boolean optional, String logicalName, String name) {
    return "{\"type\":\""
        + type
        + "\",\"optional\":"
        + optional
        + ",\"name\":\""
        + logicalName
        + "\",\"version\":1,\"field\":\""
        + name
        + "\"}";
  }

  /**
   * A Connect {@code Decimal}: bytes holding the unscaled value, with the scale as a string
   * parameter.
   */
  static String decimal(boolean optional, int scale, int precision, String name) {
    return "{\"type\":\"bytes\",\"optional\":"
        + optional
        + ",\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,\"parameters\":{\"scale\":\""
        + scale
        + "\",\"connect.decimal.precision\":\""
        + precision
        + "\"},\"field\":\""
        + name
        + "\"}";
  }
}
