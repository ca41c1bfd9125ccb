package io.tenantexport.common.gen;

import static io.tenantexport.common.gen.ConnectSchemas.decimal;
import static io.tenantexport.common.gen.ConnectSchemas.field;
import static io.tenantexport.common.gen.ConnectSchemas.logical;

import java.nio.charset.StandardCharsets;

/**
 * The source tables the generator writes, with their topics and the Kafka Connect schemas Debezium
 * sends when {@code value.converter.schemas.enable=true}.
 *
 * <p>Column order in the schemas is the database's column order, which is also the order of the
 * fields in every row image the generator writes. Non-key {@code orders} columns are declared
 * optional because a PostgreSQL delete under the default replica identity carries the key column
 * only (JsonConverter then writes the other fields of the struct as nulls).
 */
enum Table {
  PAGE_VIEWS(
      "page_views",
      "public",
      ConnectSchemas.POSTGRES_SOURCE,
      "id",
      field("int64", false, "id")
          + ","
          + field("string", false, "tenant_id")
          + ","
          + logical("int64", false, "io.debezium.time.MicroTimestamp", "viewed_at")
          + ","
          + field("string", false, "page")
          + ","
          + field("int64", false, "duration_ms")
          + ","
          + field("string", true, "user_email")
          + ","
          + field("string", true, "ip")),
  ORDERS(
      "orders",
      "public",
      ConnectSchemas.POSTGRES_SOURCE,
      "id",
      field("int64", false, "id")
          + ","
          + field("string", true, "tenant_id")
          + ","
          + field("string", true, "status")
          + ","
          + decimal(true, 2, 12, "amount")
          + ","
          + field("string", true, "customer_name")
          + ","
          + logical("int64", true, "io.debezium.time.MicroTimestamp", "updated_at")),
  INVOICES(
      "invoices",
      "billing",
      ConnectSchemas.MYSQL_SOURCE,
      "invoice_id",
      field("int64", false, "invoice_id")
          + ","
          + field("string", false, "tenant_id")
          + ","
          + field("string", false, "currency")
          + ","
          + decimal(false, 4, 14, "total")
          + ","
          + logical("int64", false, "io.debezium.time.Timestamp", "issued_at")
          + ","
          + logical("int32", false, "io.debezium.time.Date", "due_on")
          + ","
          + logical("string", true, "io.debezium.data.Json", "metadata")
          + ","
          + field("string", true, "billing_address")),
  /** Not in the export spec: its changes must be refused ({@code UNKNOWN_TABLE}). */
  SECRETS(
      "secrets",
      "public",
      ConnectSchemas.POSTGRES_SOURCE,
      "id",
      field("int64", false, "id")
          + ","
          + field("string", false, "tenant_id")
          + ","
          + field("string", false, "api_key")
          + ","
          + logical("int64", false, "io.debezium.time.MicroTimestamp", "created_at"));

  /** Debezium's topic prefix ({@code topic.prefix}), which is also {@code source.name}. */
  static final String SERVER = "cdc";

  final String name;

  /**
   * {@code cdc.<namespace>.<table>}: Debezium's topic, and the prefix of its Connect schema names.
   */
  final String qualified;

  final String keyColumn;

  /**
   * {@code {"schema":<envelope schema>,"payload":}} in UTF-8: what precedes the payload of a
   * wrapped value.
   */
  final byte[] wrappedPrefix;

  /**
   * @param namespace PostgreSQL schema or MySQL database
   */
  Table(String name, String namespace, String sourceSchema, String keyColumn, String rowFields) {
    this.name = name;
    this.qualified = SERVER + "." + namespace + "." + name;
    this.keyColumn = keyColumn;
    String row =
        "{\"type\":\"struct\",\"fields\":["
            + rowFields
            + "],\"optional\":true,\"name\":\""
            + qualified
            + ".Value\",\"field\":";
    String schema =
        "{\"type\":\"struct\",\"fields\":["
            + row
            + "\"before\"},"
            + row
            + "\"after\"},"
            + sourceSchema
            + ","
            + field("string", false, "op")
            + ","
            + field("int64", true, "ts_ms")
            + ","
            + ConnectSchemas.TRANSACTION
            + "],\"optional\":false,\"name\":\""
            + qualified
            + ".Envelope\",\"version\":1}";
    this.wrappedPrefix =
        ("{\"schema\":" + schema + ",\"payload\":").getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * The topic this table's records go to. Debezium would write {@code secrets} to its own topic,
   * which the job does not read; the generator puts such junk on the orders topic so that the job
   * sees it.
   */
  String topic() {
    return this == SECRETS ? ORDERS.qualified : qualified;
  }
}
