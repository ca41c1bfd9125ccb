package io.tenantexport.jobs.operators;

import io.tenantexport.common.Ids;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.Disposition;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds decoded changes for operator tests, as the decoder would, without Kafka. */
final class TestChanges {
  static final ExportSpec SPEC = spec("30s");

  /** The tests' spec with another allowed lateness. */
  static ExportSpec spec(String lateness) {
    return ExportSpec.parse(
        """
      version: 7
      window: 1m
      allowed_lateness: %s
      tables:
        - name: views
          mode: append_only
          event_time: ts
          columns: {tenant_id: string, id: long, ts: timestamp, page: string, ms: long}
          dimensions: [page]
          metrics:
            - {name: view_count, type: count}
            - {name: view_ms, type: sum, column: ms}
        - name: orders
          mode: mutable
          key: [id]
          event_time: ts
          columns: {tenant_id: string, id: long, ts: timestamp, status: string, amount: {type: decimal, scale: 2}}
          dimensions: [status]
          metrics:
            - {name: order_count, type: count}
            - {name: order_amount, type: sum, column: amount}
            - {name: order_max, type: max, column: amount}
      """
            .formatted(lateness),
        "test-spec");
  }

  /** Minute 0 of the tests' event time: 2026-11-26T10:00:00Z. */
  static final long T0 = 1_795_687_200_000L;

  private TestChanges() {}

  static Map<String, String> image(Object... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1] == null ? null : kv[i + 1].toString());
    }
    return m;
  }

  static Map<String, String> order(String tenant, long id, long ts, String status, String amount) {
    return image(
        "tenant_id",
        tenant,
        "id",
        id,
        "ts",
        java.time.Instant.ofEpochMilli(ts),
        "status",
        status,
        "amount",
        amount);
  }

  static Map<String, String> view(String tenant, long id, long ts, String page, long ms) {
    return image(
        "tenant_id",
        tenant,
        "id",
        id,
        "ts",
        java.time.Instant.ofEpochMilli(ts),
        "page",
        page,
        "ms",
        ms);
  }

  /** A view insert at PostgreSQL position (lsn, 0). */
  static ChangeEvent viewInsert(String tenant, long id, long ts, long lsn) {
    return change(
        tenant, "views", "c", ts, List.of(lsn, 0L), null, null, view(tenant, id, ts, "/home", 10));
  }

  static ChangeEvent orderChange(
      String tenant,
      String op,
      long id,
      long ts,
      long lsn,
      Map<String, String> before,
      Map<String, String> after) {
    return change(tenant, "orders", op, ts, List.of(lsn, 0L), "[\"" + id + "\"]", before, after);
  }

  static ChangeEvent change(
      String tenant,
      String table,
      String op,
      long ts,
      List<Long> position,
      String rowKey,
      Map<String, String> before,
      Map<String, String> after) {
    String scope = rowKey != null ? table + "|" + rowKey : tenant + "|" + table;
    String id =
        Ids.of(
            table, position.toString(), rowKey, op, String.valueOf(before), String.valueOf(after));
    return ChangeEvent.newBuilder()
        .setTenantId(tenant)
        .setSourceTable(table)
        .setScopeKey(scope)
        .setOp(op)
        .setDisposition(Disposition.APPLY)
        .setEventTime(ts)
        .setSourceTs(ts)
        .setPosition(position)
        .setPositionKind("pg")
        .setEventId(id)
        .setRowKey(rowKey)
        .setBefore(before)
        .setAfter(after)
        .setOriginTopic("cdc." + table)
        .setOriginPartition(0)
        .setOriginOffset(position.get(0))
        .setRawKey(rowKey == null ? null : ByteBuffer.wrap("k".getBytes(StandardCharsets.UTF_8)))
        .setRawValue(rowKey == null ? null : ByteBuffer.wrap("v".getBytes(StandardCharsets.UTF_8)))
        .build();
  }

  /** A copy, as a replay of the same change delivers it (possibly at another Kafka offset). */
  static ChangeEvent replayOf(ChangeEvent e) {
    return ChangeEvent.newBuilder(e).setOriginOffset(e.getOriginOffset() + 1000).build();
  }
}
