package io.tenantexport.local.bench;

import io.tenantexport.jobs.io.WarehouseUpsert;
import io.tenantexport.local.infra.LocalWarehouse;
import io.tenantexport.schemas.WarehouseRollup;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The warehouse figure's two sides, on the same rows: the full pipeline's rollups, taken from
 * {@code tenant_export.metric_rollup} after a (c) run and widened to at least {@value #MIN_ROWS}
 * rows (copies a whole number of days later: new keys, so every side inserts, as the pipeline's
 * first write of a window does). One side is job (w), the pipeline's sink alone (see {@code
 * WarehouseSinkJob}); the other, here, upserts the rows with the job's statement ({@link
 * WarehouseUpsert#SQL}, same binding) as the job's writer login, in batches of {@value #BATCH} with
 * {@code reWriteBatchedInserts}, one commit per batch. Each side starts from an empty table.
 */
final class WarehouseBaseline {
  static final int BATCH = 1000;

  /** Enough rows for the job's read rate to be sampled well past its start (every 250 ms). */
  static final int MIN_ROWS = 200_000;

  private WarehouseBaseline() {}

  /**
   * @param rows rows upserted
   * @param seconds time the upserts and commits took
   */
  record Upserted(int rows, double seconds) {
    double rowsPerSecond() {
      return rows == 0 ? Double.NaN : rows / seconds;
    }
  }

  /** The rollups a run left; the table is emptied. */
  static List<WarehouseRollup> take(LocalWarehouse warehouse) throws SQLException {
    List<WarehouseRollup> rows = new ArrayList<>();
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement()) {
      try (ResultSet rs =
          s.executeQuery(
              "SELECT tenant_id, source_table, metric, dimensions, window_start, window_end,"
                  + " value::text, row_count, revision, export_version, policy_version"
                  + " FROM tenant_export.metric_rollup")) {
        while (rs.next()) {
          rows.add(
              WarehouseRollup.newBuilder()
                  .setTenantId(rs.getString(1))
                  .setSourceTable(rs.getString(2))
                  .setMetric(rs.getString(3))
                  .setDimensions(rs.getString(4))
                  .setWindowStart(rs.getTimestamp(5).toInstant())
                  .setWindowEnd(rs.getTimestamp(6).toInstant())
                  .setValue(rs.getString(7))
                  .setRowCount(rs.getLong(8))
                  .setRevision(rs.getLong(9))
                  .setExportVersion(rs.getInt(10))
                  .setPolicyVersion(rs.getLong(11))
                  .build());
        }
      }
    }
    truncate(warehouse);
    return rows;
  }

  /** {@code rows}, repeated a whole number of days later until there are at least {@code min}. */
  static List<WarehouseRollup> widen(List<WarehouseRollup> rows, int min) {
    List<WarehouseRollup> out = new ArrayList<>(rows);
    if (rows.isEmpty()) {
      return out;
    }
    for (int copy = 1; out.size() < min; copy++) {
      Duration later = Duration.ofDays(copy);
      for (WarehouseRollup r : rows) {
        out.add(
            WarehouseRollup.newBuilder(r)
                .setWindowStart(r.getWindowStart().plus(later))
                .setWindowEnd(r.getWindowEnd().plus(later))
                .build());
      }
    }
    return out;
  }

  /** The rows as Kafka records for {@code topic}: Avro binary values, keyed by tenant. */
  static List<ProducerRecord<byte[], byte[]>> asRecords(String topic, List<WarehouseRollup> rows) {
    SpecificDatumWriter<WarehouseRollup> writer = new SpecificDatumWriter<>(WarehouseRollup.class);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    BinaryEncoder encoder = null;
    List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>(rows.size());
    try {
      for (WarehouseRollup r : rows) {
        bytes.reset();
        encoder = EncoderFactory.get().binaryEncoder(bytes, encoder);
        writer.write(r, encoder);
        encoder.flush();
        out.add(
            new ProducerRecord<>(
                topic, r.getTenantId().getBytes(StandardCharsets.UTF_8), bytes.toByteArray()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot encode a rollup", e);
    }
    return out;
  }

  static long count(LocalWarehouse warehouse) throws SQLException {
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM tenant_export.metric_rollup")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  static void truncate(LocalWarehouse warehouse) throws SQLException {
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement()) {
      s.execute("TRUNCATE tenant_export.metric_rollup");
    }
  }

  /** Upserts {@code rows} into the (empty) table outside any job and times it. */
  static Upserted upsert(
      LocalWarehouse warehouse, LocalWarehouse.Login writer, List<WarehouseRollup> rows)
      throws SQLException {
    String url =
        warehouse.jdbcUrl()
            + (warehouse.jdbcUrl().contains("?") ? "&" : "?")
            + "reWriteBatchedInserts=true";
    WarehouseUpsert binder = new WarehouseUpsert();
    try (Connection c = DriverManager.getConnection(url, writer.user(), writer.password());
        PreparedStatement ps = c.prepareStatement(WarehouseUpsert.SQL)) {
      c.setAutoCommit(false);
      long t0 = System.nanoTime();
      for (int i = 0; i < rows.size(); i++) {
        binder.accept(ps, rows.get(i));
        ps.addBatch();
        if ((i + 1) % BATCH == 0 || i == rows.size() - 1) {
          ps.executeBatch();
          c.commit();
        }
      }
      return new Upserted(rows.size(), (System.nanoTime() - t0) / 1e9);
    }
  }
}
