package io.tenantexport.jobs.cli;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;

/**
 * What a replay does in the warehouse besides the replay job's own upserts, as the operators' login
 * ({@code tenant_export_operator}: SELECT and DELETE on the rollups, INSERT into {@code
 * metric_rollup_retracted}, migration V4).
 *
 * <p>The replay job writes the tenant's rollups of the windows wholly inside its range with its own
 * export version R, higher than any before (see {@link #maxExportVersion}), so the guarded upsert
 * ({@code WarehouseUpsert}) replaces the live rows of those windows, whatever their revision. A
 * live row the replay did not rewrite (a metric and dimension values the replayed changes no longer
 * produce) is then stale: {@link #retractStale} moves every row of the tenant in those windows with
 * an export version below R, in one statement, to {@code metric_rollup_retracted}.
 *
 * <p>Afterwards the live job can no longer change these windows: its rows carry a lower export
 * version, which the guard refuses where an R row exists. It would only write one for a window it
 * had not closed yet, that is for a change that reached it after the window's end plus the allowed
 * lateness by the tenant's clock. With a range that ended {@link ReplayRange#settle} before the
 * replay, that is a change the live job would have treated as late anyway (it still reaches the
 * lake, flagged late, where the replay does not take it back: the replay did not read it).
 */
final class ReplayWarehouse {
  private static final String COLUMNS =
      "tenant_id, source_table, metric, dimensions, dimensions_json, window_start, window_end,"
          + " value, row_count, revision, export_version, exported_at, policy_version";

  private final String url;
  private final String user;
  private final String password;

  ReplayWarehouse(String url, String user, String password) {
    this.url = url;
    this.user = user;
    this.password = password == null ? "" : password;
  }

  /**
   * The highest export version in the rollups, live or retracted (0 when empty): a replay's must be
   * above it to replace rows, and above every version the registry recorded so that no version is
   * ever used twice.
   */
  int maxExportVersion() {
    String sql =
        "SELECT greatest((SELECT max(export_version) FROM tenant_export.metric_rollup),"
            + " (SELECT max(export_version) FROM tenant_export.metric_rollup_retracted))";
    try (Connection c = connect();
        PreparedStatement s = c.prepareStatement(sql);
        ResultSet rs = s.executeQuery()) {
      rs.next();
      return rs.getInt(1);
    } catch (SQLException e) {
      throw new CommandFailedException(
          "cannot read the highest export version of the rollups at " + url + " as " + user, e);
    }
  }

  /** The replay's export version: one above every version recorded or written so far. */
  static int nextExportVersion(
      List<ExportRegistry.Row> registry, int warehouseMax, int liveSpecVersion) {
    int max = Math.max(warehouseMax, liveSpecVersion);
    for (ExportRegistry.Row r : registry) {
      if (r.exportVersion() != null) {
        max = Math.max(max, r.exportVersion());
      }
    }
    return max + 1;
  }

  /**
   * Moves the tenant's rollups of windows wholly inside the range with an export version below
   * {@code exportVersion} to {@code metric_rollup_retracted}, marked {@code retractedBy}; returns
   * how many.
   */
  int retractStale(ReplayRange range, int exportVersion, String retractedBy) {
    String sql =
        "WITH moved AS (DELETE FROM tenant_export.metric_rollup"
            + " WHERE tenant_id = ? AND window_start >= ? AND window_end <= ?"
            + " AND export_version < ? RETURNING "
            + COLUMNS
            + ") INSERT INTO tenant_export.metric_rollup_retracted ("
            + COLUMNS
            + ", retracted_by) SELECT "
            + COLUMNS
            + ", ? FROM moved";
    try (Connection c = connect();
        PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, range.tenant());
      s.setObject(2, OffsetDateTime.ofInstant(range.from(), ZoneOffset.UTC));
      s.setObject(3, OffsetDateTime.ofInstant(range.to(), ZoneOffset.UTC));
      s.setInt(4, exportVersion);
      s.setString(5, retractedBy);
      return s.executeUpdate();
    } catch (SQLException e) {
      throw new CommandFailedException(
          "cannot retract the stale rollups of " + range + " at " + url + " as " + user, e);
    }
  }

  private Connection connect() throws SQLException {
    return DriverManager.getConnection(url, user, password);
  }
}
