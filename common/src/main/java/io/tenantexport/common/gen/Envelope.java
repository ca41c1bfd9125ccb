package io.tenantexport.common.gen;

import java.nio.charset.StandardCharsets;

/**
 * Writes Debezium change-event values and Kafka keys as bytes, laid out as Debezium 2.x with
 * Kafka's JsonConverter writes them: {@code payload = {before, after, source, op, ts_ms,
 * transaction}}, optionally wrapped as {@code {"schema":…,"payload":…}}.
 *
 * <p>Everything is written into one reused {@link JsonBytes}; a table's constant envelope schema is
 * copied in as precomputed bytes, so a wrapped record costs little more than a bare one.
 */
final class Envelope {
  static final String CONNECTOR_VERSION = "2.7.3.Final";
  static final String POSTGRES_DB = "app";
  static final String MYSQL_DB = "billing";
  static final String MYSQL_BINLOG_FILE = "mysql-bin.000003";
  static final long MYSQL_SERVER_ID = 184054;

  private Envelope() {}

  /**
   * Something that writes itself as a JSON value: a row image, a {@code source} or transaction
   * block.
   */
  interface JsonWritable {
    void appendJson(JsonBytes out);
  }

  /**
   * A PostgreSQL {@code source} block. {@code sequence} is Debezium's {@code ["<last commit
   * lsn>","<lsn>"]} (the first is null during a snapshot).
   */
  record PgSource(
      String table, long tsMs, String snapshot, long txId, long lsn, long previousCommitLsn)
      implements JsonWritable {
    @Override
    public void appendJson(JsonBytes out) {
      out.ascii(
              "{\"version\":\""
                  + CONNECTOR_VERSION
                  + "\",\"connector\":\"postgresql\",\"name\":\""
                  + Table.SERVER
                  + "\",\"ts_ms\":")
          .number(tsMs)
          .ascii(",\"snapshot\":")
          .string(snapshot)
          .ascii(",\"db\":\"" + POSTGRES_DB + "\",\"sequence\":\"[");
      if ("false".equals(snapshot)) {
        out.ascii("\\\"").number(previousCommitLsn).ascii("\\\"");
      } else {
        out.ascii("null");
      }
      out.ascii(",\\\"")
          .number(lsn)
          .ascii("\\\"]\",\"schema\":\"public\",\"table\":")
          .string(table)
          .ascii(",\"txId\":")
          .number(txId)
          .ascii(",\"lsn\":")
          .number(lsn)
          .ascii(",\"xmin\":null}");
    }
  }

  /**
   * A MySQL {@code source} block: one binlog event at {@code pos}, {@code row} within a multi-row
   * event.
   */
  record MySqlSource(
      String table, long tsMs, String snapshot, long pos, int row, String gtid, long thread)
      implements JsonWritable {
    @Override
    public void appendJson(JsonBytes out) {
      out.ascii(
              "{\"version\":\""
                  + CONNECTOR_VERSION
                  + "\",\"connector\":\"mysql\",\"name\":\""
                  + Table.SERVER
                  + "\",\"ts_ms\":")
          .number(tsMs)
          .ascii(",\"snapshot\":")
          .string(snapshot)
          .ascii(",\"db\":\"" + MYSQL_DB + "\",\"table\":")
          .string(table)
          .ascii(",\"server_id\":")
          .number(MYSQL_SERVER_ID)
          .ascii(",\"gtid\":")
          .string(gtid)
          .ascii(",\"file\":\"" + MYSQL_BINLOG_FILE + "\",\"pos\":")
          .number(pos)
          .ascii(",\"row\":")
          .number(row)
          .ascii(",\"thread\":")
          .number(thread)
          .ascii(",\"query\":null}");
    }
  }

  /** Debezium's transaction metadata block ({@code provide.transaction.metadata=true}). */
  record TxBlock(String id, long totalOrder, long dataCollectionOrder) implements JsonWritable {
    @Override
    public void appendJson(JsonBytes out) {
      out.ascii("{\"id\":")
          .string(id)
          .ascii(",\"total_order\":")
          .number(totalOrder)
          .ascii(",\"data_collection_order\":")
          .number(dataCollectionOrder)
          .ascii('}');
    }
  }

  /**
   * Writes a change-event value into {@code out} (reset first).
   *
   * @param before the before image or null; {@code after} and {@code tx} likewise
   * @param tsMs the payload's {@code ts_ms}: when the connector processed the change
   */
  static JsonBytes value(
      JsonBytes out,
      Table table,
      boolean wrapped,
      JsonWritable before,
      JsonWritable after,
      String op,
      JsonWritable source,
      long tsMs,
      JsonWritable tx) {
    out.reset();
    if (wrapped) {
      out.raw(table.wrappedPrefix);
    }
    out.ascii("{\"before\":");
    appendOrNull(out, before);
    out.ascii(",\"after\":");
    appendOrNull(out, after);
    out.ascii(",\"source\":");
    source.appendJson(out);
    out.ascii(",\"op\":").string(op).ascii(",\"ts_ms\":").number(tsMs).ascii(",\"transaction\":");
    appendOrNull(out, tx);
    out.ascii('}');
    if (wrapped) {
      out.ascii('}');
    }
    return out;
  }

  private static void appendOrNull(JsonBytes out, JsonWritable w) {
    if (w == null) {
      out.ascii("null");
    } else {
      w.appendJson(out);
    }
  }

  /** The plain key most records carry: the tenant id as UTF-8 text. */
  static byte[] plainKey(String tenantId) {
    return tenantId.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A JSON key {@code {"tenant_id":…}}, optionally schema-wrapped; {@code tenantId} may be null.
   */
  static byte[] tenantKey(JsonBytes out, Table table, String tenantId, boolean wrapped) {
    out.reset();
    if (wrapped) {
      out.ascii("{\"schema\":{\"type\":\"struct\",\"fields\":[")
          .ascii(ConnectSchemas.field("string", tenantId == null, "tenant_id"))
          .ascii("],\"optional\":false,\"name\":\"" + table.qualified + ".Key\"},\"payload\":");
    }
    out.ascii("{\"tenant_id\":").string(tenantId).ascii('}');
    if (wrapped) {
      out.ascii('}');
    }
    return out.toByteArray();
  }

  /** Debezium's own key: the primary key {@code {"<key column>":…}}, optionally schema-wrapped. */
  static byte[] rowKey(JsonBytes out, Table table, long id, boolean wrapped) {
    out.reset();
    if (wrapped) {
      out.ascii("{\"schema\":{\"type\":\"struct\",\"fields\":[")
          .ascii(ConnectSchemas.field("int64", false, table.keyColumn))
          .ascii("],\"optional\":false,\"name\":\"" + table.qualified + ".Key\"},\"payload\":");
    }
    out.ascii("{\"" + table.keyColumn + "\":").number(id).ascii('}');
    if (wrapped) {
      out.ascii('}');
    }
    return out.toByteArray();
  }
}
