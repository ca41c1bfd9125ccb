package io.tenantexport.local.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalWarehouseTest {
  private static final String INSERT_ROLLUP =
      "INSERT INTO tenant_export.metric_rollup (tenant_id, source_table, metric, dimensions,"
          + " window_start, window_end, value, row_count, revision, export_version)"
          + " VALUES (?, 'orders', 'order_count', '{}', '2026-01-01T00:00:00Z',"
          + " '2026-01-01T00:01:00Z', 1, 1, 1, 1)";

  private static LocalWarehouse warehouse;
  private static int appliedAtStart;

  @BeforeAll
  static void startWarehouse() {
    warehouse = LocalWarehouse.start();
    appliedAtStart = warehouse.migrate();
  }

  @AfterAll
  static void stopWarehouse() {
    if (warehouse != null) {
      warehouse.close();
    }
  }

  @Test
  void startsAnEmbeddedPostgresOnLoopbackWhenNoWarehouseIsNamed() throws SQLException {
    assumeTrue(System.getenv(LocalWarehouse.URL_ENV) == null, "an external warehouse is named");

    assertThat(warehouse.mode()).isEqualTo(LocalWarehouse.Mode.EMBEDDED);
    assertThat(warehouse.jdbcUrl()).matches("jdbc:postgresql://127\\.0\\.0\\.1:\\d+/postgres");
    assertThat(queryString("SELECT version()")).startsWith("PostgreSQL ");
  }

  @Test
  void appliesTheMigrationsOnceAndThenNothing() {
    assumeTrue(
        warehouse.mode() == LocalWarehouse.Mode.EMBEDDED,
        "an external one may be migrated already");

    assertThat(appliedAtStart).isGreaterThanOrEqualTo(1);
    assertThat(warehouse.migrate()).isZero();
  }

  @Test
  void migrationsCreateTheMetricRollupTable() throws SQLException {
    assertThat(queryString("SELECT to_regclass('tenant_export.metric_rollup')::text"))
        .isEqualTo("tenant_export.metric_rollup");
  }

  @Test
  void theDatabaseRejectsATenantIdThatIsNotAPlainName() throws SQLException {
    try (Connection connection = warehouse.connect()) {
      connection.setAutoCommit(false);
      try {
        insertRollup(connection, "tenant-a");

        assertThatThrownBy(() -> insertRollup(connection, "../x"))
            .isInstanceOfSatisfying(
                SQLException.class,
                e -> assertThat(e.getSQLState()).isEqualTo("23514")) // check_violation
            .hasMessageContaining("metric_rollup_tenant_id_valid");
      } finally {
        connection.rollback();
      }
    }
  }

  @Test
  void usesTheWarehouseNamedInTheEnvironmentAndLeavesItRunning() throws SQLException {
    Map<String, String> env =
        Map.of(
            LocalWarehouse.URL_ENV, warehouse.jdbcUrl(),
            LocalWarehouse.USER_ENV, warehouse.user(),
            LocalWarehouse.PASSWORD_ENV, warehouse.password());
    try (LocalWarehouse external = LocalWarehouse.start(env, LocalWarehouse.builder())) {
      assertThat(external.mode()).isEqualTo(LocalWarehouse.Mode.EXTERNAL);
      assertThat(external.migrate()).isZero();
    }

    assertThat(queryString("SELECT 'still up'")).isEqualTo("still up");
  }

  @Test
  void refusesAWarehouseUrlWithoutAUser() {
    Map<String, String> env =
        Map.of(
            LocalWarehouse.URL_ENV,
            "jdbc:postgresql://127.0.0.1:5432/warehouse?password=secret-value");

    assertThatThrownBy(() -> LocalWarehouse.start(env, LocalWarehouse.builder()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(LocalWarehouse.USER_ENV + " is not")
        .hasMessageNotContaining("secret-value");
  }

  @Test
  void keepsAFixedDataDirectoryAcrossRestarts(@TempDir Path dataDirectory) throws IOException {
    assumeTrue(System.getenv(LocalWarehouse.URL_ENV) == null, "an external warehouse is named");
    int port = freePort();
    LocalWarehouse.Builder options =
        LocalWarehouse.builder().dataDirectory(dataDirectory).port(port);

    try (LocalWarehouse first = LocalWarehouse.start(Map.of(), options)) {
      assertThat(first.jdbcUrl()).contains(":" + port + "/");
      assertThat(first.migrate()).isGreaterThanOrEqualTo(1);
    }
    try (LocalWarehouse second = LocalWarehouse.start(Map.of(), options)) {
      assertThat(second.migrate()).isZero();
    }
  }

  private static void insertRollup(Connection connection, String tenantId) throws SQLException {
    try (PreparedStatement insert = connection.prepareStatement(INSERT_ROLLUP)) {
      insert.setString(1, tenantId);
      insert.executeUpdate();
    }
  }

  private static String queryString(String sql) throws SQLException {
    try (Connection connection = warehouse.connect();
        ResultSet result = connection.createStatement().executeQuery(sql)) {
      assertThat(result.next()).as("a row from: %s", sql).isTrue();
      return result.getString(1);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
