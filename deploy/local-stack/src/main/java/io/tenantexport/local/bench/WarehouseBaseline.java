package io.tenantexport.local.bench;

import io.tenantexport.jobs.io.WarehouseUpsert;
import io.tenantexport.local.infra.LocalWarehouse;
import io.tenantexport.schemas.WarehouseRollup;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What PostgreSQL does with the full pipeline's rollups outside the job: the rows the run left in
 * {@code tenant_export.metric_rollup} are read, the table is emptied, and the same rows are
 * upserted again with the job's statement ({@link WarehouseUpsert#SQL}, same binding) as the job's
 * writer login, in batches of {@value #BATCH} with {@code reWriteBatchedInserts}, one commit per
 * batch. Afterwards the table holds the same rows as before.
 */
final class WarehouseBaseline {
  static final int BATCH = 1000;

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

  static Upserted measure(LocalWarehouse warehouse, LocalWarehouse.Login writer)
      throws SQLException {
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
      s.execute("TRUNCATE tenant_export.metric_rollup");
    }
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
