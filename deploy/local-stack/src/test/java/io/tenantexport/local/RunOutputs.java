package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.keys.QuarantineCipher;
import io.tenantexport.jobs.operators.Quarantines;
import io.tenantexport.local.infra.LocalKafka;
import io.tenantexport.local.infra.LocalWarehouse;
import io.tenantexport.local.inspect.LakeFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Everything one run of the job produced, read back from the real systems with independent readers,
 * normalised to sorted lines per tenant so that two runs (or a run and a reference) compare
 * exactly. Wall-clock fields (the audit's {@code emitted_at}, the warehouse's {@code exported_at})
 * are left out.
 */
record RunOutputs(
    Map<String, List<String>> lake,
    Map<String, List<String>> warehouse,
    Map<String, List<String>> audit,
    List<String> quarantine,
    List<JsonNode> auditEvents,
    List<JsonNode> quarantineRecords,
    List<LakeFiles.Row> lakeRows) {
  private static final ObjectMapper JSON = new ObjectMapper();

  static RunOutputs read(
      Path lakeRoot,
      LocalWarehouse warehouse,
      LocalKafka kafka,
      String auditTopic,
      String quarantineTopic)
      throws SQLException {
    List<LakeFiles.Row> rows = LakeFiles.readAll(lakeRoot);
    Map<String, List<String>> lake = new TreeMap<>();
    for (LakeFiles.Row r : rows) {
      lake.computeIfAbsent(r.pathTenant(), t -> new ArrayList<>()).add(lakeLine(r.record(), true));
    }
    Map<String, List<String>> wh = new TreeMap<>();
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT tenant_id, source_table, metric, dimensions, window_start, window_end,"
                    + " value, row_count, revision, export_version FROM tenant_export.metric_rollup")) {
      while (rs.next()) {
        BigDecimal v = rs.getBigDecimal("value");
        wh.computeIfAbsent(rs.getString(1), t -> new ArrayList<>())
            .add(
                String.join(
                    "|",
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3),
                    rs.getString(4),
                    rs.getObject(5, java.time.OffsetDateTime.class).toInstant().toString(),
                    rs.getObject(6, java.time.OffsetDateTime.class).toInstant().toString(),
                    v == null ? "null" : canonical(v),
                    Long.toString(rs.getLong(8)),
                    Long.toString(rs.getLong(9)),
                    Integer.toString(rs.getInt(10))));
      }
    }
    List<JsonNode> auditEvents = json(kafka.readAll(auditTopic, true, Duration.ofSeconds(30)));
    Map<String, List<String>> audit = auditLines(auditEvents, e -> true);
    List<JsonNode> quarantineRecords =
        json(kafka.readAll(quarantineTopic, true, Duration.ofSeconds(30)));
    List<String> quarantine = new ArrayList<>();
    quarantineRecords.forEach(q -> quarantine.add(q.toString()));
    quarantine.sort(null);
    lake.values().forEach(l -> l.sort(null));
    wh.values().forEach(l -> l.sort(null));
    return new RunOutputs(lake, wh, audit, quarantine, auditEvents, quarantineRecords, rows);
  }

  /**
   * Audit events per tenant as sorted JSON lines without {@code emitted_at}; JOB_START is left out
   * (its id and time name the submission, which differs between runs by design).
   */
  static Map<String, List<String>> auditLines(List<JsonNode> events, Predicate<JsonNode> keep) {
    Map<String, List<String>> audit = new TreeMap<>();
    for (JsonNode a : events) {
      if (a.path("type").asText().equals("JOB_START") || !keep.test(a)) {
        continue;
      }
      ObjectNode copy = a.deepCopy();
      copy.remove("emitted_at");
      audit
          .computeIfAbsent(a.path("tenant_id").asText("-"), t -> new ArrayList<>())
          .add(copy.toString());
    }
    audit.values().forEach(l -> l.sort(null));
    return audit;
  }

  /**
   * A lake row as a line; with {@code withId} false, as the reference (which has no job ids) sees
   * it.
   */
  static String lakeLine(GenericRecord r, boolean withId) {
    @SuppressWarnings("unchecked")
    Map<Object, Object> cols = (Map<Object, Object>) r.get("columns");
    Map<String, String> sorted = new TreeMap<>();
    cols.forEach((k, v) -> sorted.put(k.toString(), v == null ? null : v.toString()));
    return (withId ? r.get("event_id") + "|" : "")
        + lakeLine(
            r.get("tenant_id").toString(),
            r.get("source_table").toString(),
            r.get("op").toString(),
            eventTime(r),
            (Boolean) r.get("late"),
            sorted);
  }

  /** A lake row's event time in epoch milliseconds, however parquet-avro hands it back. */
  static long eventTime(GenericRecord r) {
    Object et = r.get("event_time");
    return et instanceof Instant i ? i.toEpochMilli() : (Long) et;
  }

  static String lakeLine(
      String tenant,
      String table,
      String op,
      long eventTime,
      boolean late,
      Map<String, String> columns) {
    return String.join(
        "|",
        tenant,
        table,
        op,
        Long.toString(eventTime),
        Boolean.toString(late),
        new TreeMap<>(columns).toString());
  }

  /**
   * A quarantine record as a line: its {@code fields} ({@code "-"} when null or absent), then its
   * key and value as {@link #unsealed} opens them, separated by {@code |}.
   */
  static String quarantineLine(JsonNode quarantineRecord, KeyProvider keys, String... fields) {
    List<String> parts = new ArrayList<>();
    for (String field : fields) {
      parts.add(quarantineRecord.path(field).asText("-"));
    }
    parts.add(unsealed(quarantineRecord, "key", keys));
    parts.add(unsealed(quarantineRecord, "value", keys));
    return String.join("|", parts);
  }

  /**
   * A payload field ({@code key} or {@code value}) of a quarantine record, opened with the
   * quarantine key it must be sealed with, as base64; {@code "null"} when the record has none.
   */
  private static String unsealed(JsonNode quarantineRecord, String field, KeyProvider keys) {
    JsonNode payload = quarantineRecord.path(field);
    if (payload.isNull() || payload.isMissingNode()) {
      return "null";
    }
    byte[] sealed = Base64.getDecoder().decode(payload.asText());
    String origin =
        quarantineRecord.path("origin_topic").asText()
            + "/"
            + quarantineRecord.path("origin_partition").asInt()
            + "@"
            + quarantineRecord.path("origin_offset").asLong();
    assertThat(QuarantineCipher.keyIdOf(sealed)).isEqualTo(DevSecrets.QUARANTINE_KEY_ID);
    return b64(QuarantineCipher.open(sealed, Quarantines.sealedAs(origin, field), keys));
  }

  /** Bytes as base64, to compare them exactly; {@code "null"} for none. */
  static String b64(byte[] b) {
    return b == null ? "null" : Base64.getEncoder().encodeToString(b);
  }

  static String canonical(BigDecimal v) {
    return v.signum() == 0 ? "0" : v.stripTrailingZeros().toPlainString();
  }

  private static List<JsonNode> json(List<ConsumerRecord<byte[], byte[]>> records) {
    List<JsonNode> out = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      try {
        out.add(JSON.readTree(r.value()));
      } catch (IOException e) {
        throw new UncheckedIOException(
            "not JSON at " + r.topic() + "/" + r.partition() + "@" + r.offset(), e);
      }
    }
    return out;
  }
}
