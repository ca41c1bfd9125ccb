package io.tenantexport.jobs.io;

import io.tenantexport.schemas.WarehouseRollup;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.apache.flink.connector.jdbc.JdbcStatementBuilder;

/**
 * The guarded upsert of a window rollup into {@code tenant_export.metric_rollup} (or the canary's
 * {@code tenant_export_shadow.metric_rollup}).
 *
 * <p>The JDBC sink is at-least-once: after a failure, rows since the last checkpoint are written
 * again by the attempt that restored it, and that attempt is the one whose lake files and receipts
 * commit. So within one export version the latest write wins, while an identical rewrite changes
 * nothing (not even {@code exported_at}); a row of an older export version (a replay or rollback
 * job) never overwrites a newer one. The policy version is part of what makes a rewrite different:
 * the same numbers produced under a newer tenant policy replace the row.
 *
 * <p>The job connects as a member of {@code tenant_export_writer} (see {@code
 * deploy/warehouse/README.md}): row-level security lets that role write rows of any valid tenant.
 */
public final class WarehouseUpsert implements JdbcStatementBuilder<WarehouseRollup> {
  private static final long serialVersionUID = 1L;

  /** The upsert into the live table. */
  public static final String SQL = sql("tenant_export");

  /**
   * The upsert into {@code <schema>.metric_rollup}: the live table, or the canary's shadow copy
   * ({@code warehouse.schema}, one of {@code JobConfig.WAREHOUSE_SCHEMAS}, never free text).
   */
  public static String sql(String schema) {
    if (!schema.matches("[a-z_][a-z0-9_]{0,62}")) {
      throw new IllegalArgumentException("not a schema name: " + schema);
    }
    return "INSERT INTO "
        + schema
        + ".metric_rollup AS r (tenant_id, source_table, metric, dimensions, window_start,"
        + " window_end, value, row_count, revision, export_version, policy_version, exported_at)"
        + " VALUES (?, ?, ?, ?, ?, ?, ?::numeric, ?, ?, ?, ?, now())"
        + " ON CONFLICT (tenant_id, metric, dimensions, window_start) DO UPDATE SET"
        + " source_table = EXCLUDED.source_table, window_end = EXCLUDED.window_end, value = EXCLUDED.value,"
        + " row_count = EXCLUDED.row_count, revision = EXCLUDED.revision,"
        + " export_version = EXCLUDED.export_version, policy_version = EXCLUDED.policy_version,"
        + " exported_at = EXCLUDED.exported_at"
        + " WHERE r.export_version < EXCLUDED.export_version OR (r.export_version = EXCLUDED.export_version"
        + " AND (r.value, r.row_count, r.revision, r.policy_version)"
        + " IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.row_count, EXCLUDED.revision, EXCLUDED.policy_version))";
  }

  @Override
  public void accept(PreparedStatement ps, WarehouseRollup r) throws SQLException {
    ps.setString(1, r.getTenantId());
    ps.setString(2, r.getSourceTable());
    ps.setString(3, r.getMetric());
    ps.setString(4, r.getDimensions());
    ps.setObject(5, OffsetDateTime.ofInstant(r.getWindowStart(), ZoneOffset.UTC));
    ps.setObject(6, OffsetDateTime.ofInstant(r.getWindowEnd(), ZoneOffset.UTC));
    if (r.getValue() == null) {
      ps.setNull(7, Types.VARCHAR);
    } else {
      ps.setString(7, r.getValue());
    }
    ps.setLong(8, r.getRowCount());
    ps.setLong(9, r.getRevision());
    ps.setInt(10, r.getExportVersion());
    ps.setLong(11, r.getPolicyVersion());
  }
}
