package io.tenantexport.jobs.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.jobs.config.JobConfig;
import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The append-only export registry in the warehouse ({@code tenant_export.export_registry},
 * migration V3): every operation of the {@code job} commands adds one row, and the registry is the
 * only place that says which jar and job are current and which ran before. The CLI connects with
 * the job configuration's {@code warehouse.url}, as {@code --registry-user} (default {@code
 * warehouse.user}) with the password from {@value JobConfig#PASSWORD_ENV}; that login must be a
 * member of {@code tenant_export_operator}.
 */
final class ExportRegistry {
  /** Actions that start a job: the last successful one names the current jar and job. */
  static final Set<String> STARTS = Set.of("deploy", "upgrade", "rollback", "rollback-auto");

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String COLUMNS =
      "id, at, action, job_id, jar, jar_path, program_args, job_version, export_version,"
          + " savepoint_path, outcome, detail";

  /** One row; {@code id} and {@code at} are null until it is appended. */
  record Row(
      Long id,
      Instant at,
      String action,
      String jobId,
      String jar,
      String jarPath,
      List<String> programArgs,
      String jobVersion,
      Integer exportVersion,
      String savepointPath,
      String outcome,
      String detail) {
    boolean ok() {
      return "ok".equals(outcome);
    }
  }

  private final String url;
  private final String user;
  private final String password;

  ExportRegistry(String url, String user, String password) {
    this.url = url;
    this.user = user;
    this.password = password == null ? "" : password;
  }

  String describe() {
    return "tenant_export.export_registry at " + url + " as " + user;
  }

  /** Appends {@code row}; returns its id. */
  long append(Row row) {
    String sql =
        "INSERT INTO tenant_export.export_registry (action, job_id, jar, jar_path, program_args,"
            + " job_version, export_version, savepoint_path, outcome, detail)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
    try (Connection c = connect();
        PreparedStatement s = c.prepareStatement(sql)) {
      s.setString(1, row.action());
      s.setString(2, row.jobId());
      s.setString(3, row.jar());
      s.setString(4, row.jarPath());
      s.setString(5, row.programArgs() == null ? null : JSON.writeValueAsString(row.programArgs()));
      s.setString(6, row.jobVersion());
      if (row.exportVersion() == null) {
        s.setNull(7, Types.INTEGER);
      } else {
        s.setInt(7, row.exportVersion());
      }
      s.setString(8, row.savepointPath());
      s.setString(9, row.outcome());
      s.setString(10, row.detail());
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException | IOException e) {
      throw new CommandFailedException(
          "cannot append a '" + row.action() + "' row to " + describe(), e);
    }
  }

  /** The rollup table's columns, as {@code metric_rollup_retracted} copies them (V4). */
  private static final String ROLLUP_COLUMNS =
      "tenant_id, source_table, metric, dimensions, dimensions_json, window_start, window_end,"
          + " value, row_count, revision, export_version, exported_at, policy_version";

  /**
   * Moves every row of {@code exportVersion} from {@code tenant_export.metric_rollup} to {@code
   * tenant_export.metric_rollup_retracted}, marked {@code retractedBy}, in one statement (so no
   * reader sees a row in both tables or in neither); returns how many moved. Needs the operator
   * role's grants of V4: SELECT and DELETE on the rollups, INSERT into the archive.
   */
  long retractRollups(int exportVersion, String retractedBy) {
    String sql =
        "WITH moved AS (DELETE FROM tenant_export.metric_rollup WHERE export_version = ?"
            + " RETURNING "
            + ROLLUP_COLUMNS
            + ") INSERT INTO tenant_export.metric_rollup_retracted ("
            + ROLLUP_COLUMNS
            + ", retracted_by) SELECT "
            + ROLLUP_COLUMNS
            + ", ? FROM moved";
    try (Connection c = connect();
        PreparedStatement s = c.prepareStatement(sql)) {
      s.setInt(1, exportVersion);
      s.setString(2, retractedBy);
      return s.executeUpdate();
    } catch (SQLException e) {
      throw new CommandFailedException(
          "cannot retract the rollups of export version "
              + exportVersion
              + " into tenant_export.metric_rollup_retracted at "
              + url
              + " as "
              + user
              + " (a member of tenant_export_operator, migration V4 applied?)",
          e);
    }
  }

  /** Every row, oldest first. */
  List<Row> all() {
    List<Row> rows = new ArrayList<>();
    try (Connection c = connect();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT " + COLUMNS + " FROM tenant_export.export_registry ORDER BY id");
        ResultSet rs = s.executeQuery()) {
      while (rs.next()) {
        rows.add(read(rs));
      }
    } catch (SQLException | IOException e) {
      throw new CommandFailedException("cannot read " + describe(), e);
    }
    return rows;
  }

  /** The last successful start: the job and jar that run now, if any was recorded. */
  Optional<Row> current() {
    return current(all());
  }

  static Optional<Row> current(List<Row> rows) {
    return lastStartBefore(rows, Long.MAX_VALUE);
  }

  /** The last successful start before row {@code id}: what ran before it. */
  static Optional<Row> lastStartBefore(List<Row> rows, long id) {
    Row found = null;
    for (Row r : rows) {
      if (r.id() < id && r.ok() && STARTS.contains(r.action())) {
        found = r;
      }
    }
    return Optional.ofNullable(found);
  }

  private Connection connect() throws SQLException {
    return DriverManager.getConnection(url, user, password);
  }

  private static Row read(ResultSet rs) throws SQLException, IOException {
    String args = rs.getString("program_args");
    Integer exportVersion = rs.getInt("export_version");
    if (rs.wasNull()) {
      exportVersion = null;
    }
    return new Row(
        rs.getLong("id"),
        rs.getTimestamp("at").toInstant(),
        rs.getString("action"),
        rs.getString("job_id"),
        rs.getString("jar"),
        rs.getString("jar_path"),
        args == null ? null : JSON.readValue(args, new TypeReference<List<String>>() {}),
        rs.getString("job_version"),
        exportVersion,
        rs.getString("savepoint_path"),
        rs.getString("outcome"),
        rs.getString("detail"));
  }
}
