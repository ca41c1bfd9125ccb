package io.tenantexport.jobs.cli;

import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/**
 * The rollups as the canary commands see them, through the operator's login (the registry's, a
 * member of {@code tenant_export_operator}, which migration V4 lets read both the live and the
 * shadow {@code metric_rollup} and delete shadow rows, and nothing else on them). Schemas are
 * {@link CanaryRun#LIVE_SCHEMA} or {@link CanaryRun#SHADOW_SCHEMA}, never free text.
 */
final class CanaryWarehouse {
  private final String url;
  private final String user;
  private final String password;

  CanaryWarehouse(String url, String user, String password) {
    this.url = url;
    this.user = user;
    this.password = password == null ? "" : password;
  }

  String describe() {
    return url + " as " + user;
  }

  /** The warehouse's clock: the time {@code exported_at} is compared with. */
  Instant now() {
    try (Connection c = connect();
        PreparedStatement s = c.prepareStatement("SELECT now()");
        ResultSet rs = s.executeQuery()) {
      rs.next();
      return rs.getObject(1, OffsetDateTime.class).toInstant();
    } catch (SQLException e) {
      throw new CommandFailedException(
          "cannot read the clock of the warehouse at " + describe(), e);
    }
  }

  /** Deletes the shadow rows of {@code tenants}, what an earlier canary left; how many. */
  int clearShadow(List<String> tenants) {
    try (Connection c = connect();
        PreparedStatement s =
            c.prepareStatement(
                "DELETE FROM "
                    + CanaryRun.SHADOW_SCHEMA
                    + ".metric_rollup WHERE tenant_id = ANY(?)")) {
      s.setArray(1, c.createArrayOf("text", tenants.toArray()));
      return s.executeUpdate();
    } catch (SQLException e) {
      throw new CommandFailedException(
          "cannot clear the rows of "
              + tenants
              + " from "
              + CanaryRun.SHADOW_SCHEMA
              + ".metric_rollup at "
              + describe()
              + " (the login must be a member of tenant_export_operator, migration V4)",
          e);
    }
  }

  /**
   * The rows of {@code tenants} in {@code schema}.metric_rollup whose window starts in [{@code
   * from}, {@code to}); a null bound is open.
   */
  List<ReconcileRow> rows(String schema, List<String> tenants, Instant from, Instant to) {
    if (!schema.equals(CanaryRun.LIVE_SCHEMA) && !schema.equals(CanaryRun.SHADOW_SCHEMA)) {
      throw new IllegalArgumentException("not a rollup schema: " + schema);
    }
    String sql =
        "SELECT tenant_id, source_table, metric, dimensions, window_start, window_end, value,"
            + " row_count, exported_at FROM "
            + schema
            + ".metric_rollup WHERE tenant_id = ANY(?)"
            + " AND (?::timestamptz IS NULL OR window_start >= ?::timestamptz)"
            + " AND (?::timestamptz IS NULL OR window_start < ?::timestamptz)";
    List<ReconcileRow> rows = new ArrayList<>();
    try (Connection c = connect();
        PreparedStatement s = c.prepareStatement(sql)) {
      Array array = c.createArrayOf("text", tenants.toArray());
      s.setArray(1, array);
      instant(s, 2, from);
      instant(s, 3, from);
      instant(s, 4, to);
      instant(s, 5, to);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          rows.add(
              new ReconcileRow(
                  rs.getString(1),
                  rs.getString(2),
                  rs.getString(3),
                  rs.getString(4),
                  rs.getObject(5, OffsetDateTime.class).toInstant(),
                  rs.getObject(6, OffsetDateTime.class).toInstant(),
                  rs.getBigDecimal(7),
                  rs.getLong(8),
                  rs.getObject(9, OffsetDateTime.class).toInstant()));
        }
      }
    } catch (SQLException e) {
      throw new CommandFailedException(
          "cannot read " + schema + ".metric_rollup at " + describe(), e);
    }
    return rows;
  }

  private static void instant(PreparedStatement s, int i, Instant t) throws SQLException {
    if (t == null) {
      s.setNull(i, Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      s.setObject(i, OffsetDateTime.ofInstant(t, ZoneOffset.UTC));
    }
  }

  private Connection connect() throws SQLException {
    return DriverManager.getConnection(url, user, password);
  }
}
