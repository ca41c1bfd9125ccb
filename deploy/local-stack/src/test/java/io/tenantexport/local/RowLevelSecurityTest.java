package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tenantexport.jobs.io.WarehouseUpsert;
import io.tenantexport.jobs.warehouse.WarehouseMigrations;
import io.tenantexport.local.infra.LocalWarehouse;
import io.tenantexport.schemas.WarehouseRollup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tenant isolation enforced by PostgreSQL (migration V2) on a real PostgreSQL: the export job's
 * role writes rows of every tenant, and a dashboard role bound to a tenant reads that tenant's rows
 * and nothing else, whatever SQL it sends.
 *
 * <p>All roles log in with their own JDBC connection. The warehouse holds two rows of {@code t-a}
 * (values 1.50 and 2.50) and one of {@code t-b} (100.00, at the same key as a {@code t-a} row),
 * written by {@code export_job} through {@link WarehouseUpsert#SQL}.
 */
class RowLevelSecurityTest {
  private static final String PASSWORD = "rls-test-only";
  private static final String ROLLUP = "tenant_export.metric_rollup";
  private static final Instant WINDOW = Instant.parse("2026-11-26T10:00:00Z");
  private static final String EXPORT_JOB = "export_job";
  private static final String DASH_A = "dash_a";
  private static final String DASH_B = "dash_b";
  private static final String UNBOUND = "dash_unbound";
  private static final String UNBIND_ME = "dash_unbind_me";
  private static final List<String> LOGINS =
      List.of(EXPORT_JOB, DASH_A, DASH_B, UNBOUND, UNBIND_ME);

  /** A database migrated by a non-superuser owner, for the tests that need one; see owned(). */
  private static final String OWNED_DATABASE = "tenant_export_owned";

  private static final String OWNER = "warehouse_owner";

  private static LocalWarehouse warehouse;
  private static String ownedUrl;

  @BeforeAll
  static void start() throws SQLException {
    warehouse = LocalWarehouse.start();
    warehouse.migrate();
    try (Connection admin = warehouse.connect();
        Statement s = admin.createStatement()) {
      for (String login : LOGINS) {
        createLogin(s, login);
      }
      s.execute("GRANT tenant_export_writer TO " + EXPORT_JOB);
      s.execute("GRANT tenant_export_reader TO " + UNBOUND);
      s.execute("SELECT tenant_export.bind_tenant_reader('dash_a', 't-a')");
      s.execute("SELECT tenant_export.bind_tenant_reader('dash_b', 't-b')");
      s.execute("TRUNCATE " + ROLLUP);
    }
    try (Connection job = connectAs(EXPORT_JOB)) {
      upsert(job, rollup("t-a", 0, "1.50"));
      upsert(job, rollup("t-a", 1, "2.50"));
      upsert(job, rollup("t-b", 0, "100.00"));
    }
  }

  @AfterAll
  static void stop() throws SQLException {
    if (warehouse == null) {
      return;
    }
    // An external warehouse outlives the test: leave no login with a known password behind.
    try (Connection admin = warehouse.connect();
        Statement s = admin.createStatement()) {
      for (String login : LOGINS) {
        dropLogin(s, login);
      }
    } finally {
      warehouse.close();
    }
  }

  @Test
  void aDashboardSeesOnlyTheRowsOfItsOwnTenant() throws SQLException {
    try (Connection dash = connectAs(DASH_A)) {
      assertThat(strings(dash, "SELECT tenant_id || ' ' || value FROM " + ROLLUP + " ORDER BY 1"))
          .containsExactly("t-a 1.50", "t-a 2.50");
      assertThat(strings(dash, "SELECT tenant_export.current_tenant()")).containsExactly("t-a");
    }
    try (Connection dash = connectAs(DASH_B)) {
      assertThat(strings(dash, "SELECT tenant_id || ' ' || value FROM " + ROLLUP))
          .containsExactly("t-b 100.00");
    }
  }

  @Test
  void aDashboardAskingForAnotherTenantGetsNothing() throws SQLException {
    try (Connection dash = connectAs(DASH_A)) {
      assertThat(strings(dash, "SELECT value FROM " + ROLLUP + " WHERE tenant_id = 't-b'"))
          .isEmpty();
      assertThat(
              strings(
                  dash,
                  "SELECT EXISTS (SELECT FROM " + ROLLUP + " WHERE tenant_id <> 't-a')::text"))
          .containsExactly("false");
    }
  }

  @Test
  void joinsSubqueriesAndAggregatesOverTheWholeTableSeeOnlyTheDashboardsTenant()
      throws SQLException {
    try (Connection dash = connectAs(DASH_A)) {
      assertThat(strings(dash, "SELECT count(*) || ' ' || sum(value) FROM " + ROLLUP))
          .containsExactly("2 4.00");
      // t-b's row shares a key with a t-a row: a leak would pair them here.
      assertThat(
              strings(
                  dash,
                  "SELECT count(*) FROM "
                      + ROLLUP
                      + " a JOIN "
                      + ROLLUP
                      + " b ON a.window_start = b.window_start AND a.tenant_id <> b.tenant_id"))
          .containsExactly("0");
      assertThat(strings(dash, "SELECT count(*) FROM " + ROLLUP + " a CROSS JOIN " + ROLLUP + " b"))
          .containsExactly("4");
      assertThat(
              strings(
                  dash,
                  "WITH per_tenant AS (SELECT tenant_id, count(*) AS n, sum(value) AS total FROM "
                      + ROLLUP
                      + " GROUP BY tenant_id)"
                      + " SELECT tenant_id || ' ' || n || ' ' || total FROM per_tenant"))
          .containsExactly("t-a 2 4.00");
      assertThat(
              strings(
                  dash,
                  "SELECT count(*) FROM (SELECT tenant_id FROM "
                      + ROLLUP
                      + ") AS everything WHERE tenant_id IN (SELECT 't-b')"))
          .containsExactly("0");
      assertThat(
              strings(
                  dash,
                  "SELECT r.tenant_id FROM (VALUES ('t-a'), ('t-b')) AS t (id)"
                      + " JOIN LATERAL (SELECT tenant_id FROM "
                      + ROLLUP
                      + " WHERE tenant_id = t.id LIMIT 1) AS r ON true"))
          .containsExactly("t-a");
    }
  }

  @Test
  void aFunctionOfTheDashboardsOwnInItsWhereClauseSeesOnlyItsTenantsRows() throws SQLException {
    // A classic probe: a cheap function that reports every row it is shown. Policies are applied
    // before any qual that is not leakproof, so it must never be shown another tenant's row.
    try (Connection dash = connectAs(DASH_A);
        Statement s = dash.createStatement()) {
      s.execute(
          "CREATE FUNCTION pg_temp.peek(tenant text, amount numeric) RETURNS boolean"
              + " LANGUAGE plpgsql COST 0.0001 AS $$"
              + " BEGIN RAISE NOTICE 'peeked % %', tenant, amount; RETURN true; END $$");
      try (ResultSet rs =
          s.executeQuery(
              "SELECT count(*) FROM " + ROLLUP + " WHERE pg_temp.peek(tenant_id, value)")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getLong(1)).isEqualTo(2);
      }
      List<String> notices = new ArrayList<>();
      for (SQLWarning w = s.getWarnings(); w != null; w = w.getNextWarning()) {
        notices.add(w.getMessage());
      }
      assertThat(notices).containsExactlyInAnyOrder("peeked t-a 1.50", "peeked t-a 2.50");
      s.execute("DROP FUNCTION pg_temp.peek(text, numeric)");
    }
  }

  @Test
  void sessionSettingsDoNotChangeTheTenant() throws SQLException {
    try (Connection dash = connectAs(DASH_A);
        Statement s = dash.createStatement()) {
      s.execute("SET tenant_export.tenant = 't-b'");
      s.execute("SELECT set_config('tenant_export.tenant', 't-b', false)");
      s.execute("SELECT set_config('app.tenant_id', 't-b', false)");

      assertThat(strings(dash, "SELECT DISTINCT tenant_id FROM " + ROLLUP)).containsExactly("t-a");
      assertThat(strings(dash, "SELECT tenant_export.current_tenant()")).containsExactly("t-a");
    }
  }

  @Test
  void aDashboardCannotBecomeAnotherTenantsRole() throws SQLException {
    try (Connection dash = connectAs(DASH_A)) {
      assertRefused(dash, "SET ROLE " + DASH_B, "permission denied to set role");
      assertRefused(dash, "SELECT set_config('role', 'dash_b', false)", "permission denied");
      assertRefused(dash, "SET SESSION AUTHORIZATION " + DASH_B, "permission denied");

      assertThat(strings(dash, "SELECT DISTINCT tenant_id FROM " + ROLLUP)).containsExactly("t-a");
    }
  }

  @Test
  void anAdminWhoSetsRoleToADashboardSeesWhatThatDashboardSees() throws SQLException {
    try (Connection admin = warehouse.connect();
        Statement s = admin.createStatement()) {
      assumeTrue(isSuperuser(admin), "SET ROLE to any role takes a superuser");
      s.execute("SET ROLE " + DASH_B);

      assertThat(strings(admin, "SELECT tenant_id || ' ' || value FROM " + ROLLUP))
          .containsExactly("t-b 100.00");
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "INSERT INTO tenant_export.metric_rollup (tenant_id, source_table, metric, dimensions,"
            + " window_start, window_end, row_count, revision, export_version)"
            + " VALUES ('t-a', 'orders', 'forged', '{}', now(), now() + interval '1 minute',"
            + " 1, 1, 1)",
        "UPDATE tenant_export.metric_rollup SET value = 0 WHERE tenant_id = 't-a'",
        "DELETE FROM tenant_export.metric_rollup WHERE tenant_id = 't-a'",
        "TRUNCATE tenant_export.metric_rollup"
      })
  void aDashboardCannotChangeRowsNotEvenOfItsOwnTenant(String statement) throws SQLException {
    try (Connection dash = connectAs(DASH_A)) {
      assertRefused(dash, statement, "permission denied for table metric_rollup");
    }
    try (Connection job = connectAs(EXPORT_JOB)) {
      assertThat(
              strings(job, "SELECT count(*) FROM " + ROLLUP + " WHERE tenant_id IN ('t-a', 't-b')"))
          .containsExactly("3");
    }
  }

  @Test
  void aDashboardCannotReadTheTenantMappingNorBindItself() throws SQLException {
    try (Connection dash = connectAs(DASH_A)) {
      assertRefused(
          dash,
          "SELECT * FROM tenant_export.tenant_reader",
          "permission denied for table tenant_reader");
      assertRefused(
          dash,
          "SELECT tenant_export.bind_tenant_reader('dash_a', 't-b')",
          "permission denied for function bind_tenant_reader");
      assertRefused(
          dash,
          "SELECT tenant_export.unbind_tenant_reader('dash_b')",
          "permission denied for function unbind_tenant_reader");
    }
  }

  @Test
  void aReaderThatWasNeverBoundToATenantSeesNoRows() throws SQLException {
    try (Connection unbound = connectAs(UNBOUND)) {
      assertThat(strings(unbound, "SELECT count(*) FROM " + ROLLUP)).containsExactly("0");
      assertThat(strings(unbound, "SELECT tenant_export.current_tenant()"))
          .containsExactly((String) null);
    }
  }

  @Test
  void unbindingADashboardEndsItsAccessAtItsNextStatement() throws SQLException {
    try (Connection admin = warehouse.connect();
        Statement s = admin.createStatement()) {
      s.execute("SELECT tenant_export.bind_tenant_reader('" + UNBIND_ME + "', 't-a')");
      try (Connection dash = connectAs(UNBIND_ME)) {
        assertThat(strings(dash, "SELECT count(*) FROM " + ROLLUP)).containsExactly("2");

        assertThat(strings(admin, "SELECT tenant_export.unbind_tenant_reader('dash_unbind_me')"))
            .containsExactly("t");

        assertRefused(dash, "SELECT count(*) FROM " + ROLLUP, "permission denied");
      }
      assertThat(strings(admin, "SELECT tenant_export.unbind_tenant_reader('dash_unbind_me')"))
          .containsExactly("f");
    }
  }

  @Test
  void bindingASuperuserIsRefused() throws SQLException {
    try (Connection admin = warehouse.connect();
        Statement s = admin.createStatement()) {
      assumeTrue(isSuperuser(admin), "creating a superuser takes a superuser");
      s.execute("DROP ROLE IF EXISTS dash_root");
      s.execute("CREATE ROLE dash_root SUPERUSER");
      try {
        assertRefused(
            admin,
            "SELECT tenant_export.bind_tenant_reader('dash_root', 't-a')",
            "cannot bind role dash_root to tenant t-a: it is a superuser");
        assertThat(
                strings(
                    admin,
                    "SELECT count(*) FROM tenant_export.tenant_reader"
                        + " WHERE role_name = 'dash_root'"))
            .containsExactly("0");
      } finally {
        s.execute("DROP ROLE dash_root");
      }
    }
  }

  @Test
  void bindingARoleThatCouldGrantItselfTheWriterRoleIsRefused() throws SQLException {
    try (Connection admin = warehouse.connect();
        Statement s = admin.createStatement()) {
      s.execute("DROP ROLE IF EXISTS dash_creator");
      s.execute("CREATE ROLE dash_creator LOGIN CREATEROLE");
      try {
        assertRefused(
            admin,
            "SELECT tenant_export.bind_tenant_reader('dash_creator', 't-a')",
            "it is a role with CREATEROLE");
      } finally {
        s.execute("DROP ROLE dash_creator");
      }
    }
  }

  @Test
  void bindingAWriterOrTheReaderGroupItselfIsRefused() throws SQLException {
    try (Connection admin = warehouse.connect()) {
      assertRefused(
          admin,
          "SELECT tenant_export.bind_tenant_reader('export_job', 't-a')",
          "it is a member of tenant_export_writer");
      assertRefused(
          admin,
          "SELECT tenant_export.bind_tenant_reader('tenant_export_reader', 't-a')",
          "every member of tenant_export_reader could SET ROLE to it");
    }
  }

  @Test
  void aBoundDashboardIsNotMovedToAnotherTenantWithoutUnbindingFirst() throws SQLException {
    try (Connection admin = warehouse.connect()) {
      strings(admin, "SELECT tenant_export.bind_tenant_reader('dash_a', 't-a')"); // a no-op

      assertThatThrownBy(
              () -> strings(admin, "SELECT tenant_export.bind_tenant_reader('dash_a', 't-b')"))
          .hasMessageContaining("cannot bind role dash_a to tenant t-b: it is bound to tenant t-a");
    }
    try (Connection dash = connectAs(DASH_A)) {
      assertThat(strings(dash, "SELECT DISTINCT tenant_id FROM " + ROLLUP)).containsExactly("t-a");
    }
  }

  @Test
  void theExportRoleWritesRowsOfAnyValidTenant() throws SQLException {
    try (Connection job = connectAs(EXPORT_JOB)) {
      upsert(job, rollup("t-c", 0, "7.00"));
      upsert(job, rollup("t00-acme", 0, "8.00"));

      assertThat(
              strings(
                  job,
                  "SELECT tenant_id FROM "
                      + ROLLUP
                      + " WHERE tenant_id IN ('t-c', 't00-acme') ORDER BY 1"))
          .containsExactly("t-c", "t00-acme");
    }
    try (Connection dash = connectAs(DASH_A)) {
      assertThat(strings(dash, "SELECT DISTINCT tenant_id FROM " + ROLLUP)).containsExactly("t-a");
    }
  }

  @Test
  void theExportRoleCannotWriteARowWhoseTenantIdIsNotATenantId() throws SQLException {
    try (Connection job = connectAs(EXPORT_JOB)) {
      assertThatThrownBy(() -> upsert(job, rollup("../t-a", 0, "1.00")))
          .isInstanceOfSatisfying(
              SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42501"))
          .hasMessageContaining("violates row-level security policy");
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "DELETE FROM tenant_export.metric_rollup WHERE tenant_id = 't-b'",
        "TRUNCATE tenant_export.metric_rollup"
      })
  void theExportRoleCannotDeleteRows(String statement) throws SQLException {
    try (Connection job = connectAs(EXPORT_JOB)) {
      assertRefused(job, statement, "permission denied for table metric_rollup");
    }
  }

  @Test
  void migrationsRunByANonSuperuserOwnerLeaveTheOwnerItselfSubjectToRowLevelSecurity()
      throws SQLException {
    String url = owned();
    try (Connection owner = DriverManager.getConnection(url, OWNER, PASSWORD)) {
      assertThat(strings(owner, "SELECT count(*) FROM " + ROLLUP)).containsExactly("0");
      assertThatThrownBy(() -> upsert(owner, rollup("t-a", 5, "1.00")))
          .isInstanceOfSatisfying(
              SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42501"))
          .hasMessageContaining("violates row-level security policy");

      // ... yet, without being a superuser, it can bind a dashboard.
      strings(owner, "SELECT tenant_export.bind_tenant_reader('dash_b', 't-b')");
    }
    try (Connection dash = DriverManager.getConnection(url, DASH_B, PASSWORD)) {
      assertThat(strings(dash, "SELECT tenant_id || ' ' || value FROM " + ROLLUP))
          .containsExactly("t-b 100.00");
    }
  }

  @Test
  void aLaterMigrationByTheOwnerChangesRowsOnlyWhileForceIsLifted(@TempDir Path migrations)
      throws Exception {
    String url = owned();
    Files.writeString(
        migrations.resolve("V900__later_migration.sql"),
        """
        ALTER TABLE tenant_export.metric_rollup ADD COLUMN note text;
        CREATE INDEX metric_rollup_note ON tenant_export.metric_rollup (note);
        -- Still forced: matches no row, silently.
        UPDATE tenant_export.metric_rollup SET note = 'forced';
        ALTER TABLE tenant_export.metric_rollup NO FORCE ROW LEVEL SECURITY;
        UPDATE tenant_export.metric_rollup SET policy_version = 9;
        ALTER TABLE tenant_export.metric_rollup FORCE ROW LEVEL SECURITY;
        """);

    int applied =
        Flyway.configure(WarehouseMigrations.class.getClassLoader())
            .dataSource(url, OWNER, PASSWORD)
            .schemas(WarehouseMigrations.SCHEMA)
            .defaultSchema(WarehouseMigrations.SCHEMA)
            .locations("classpath:db/tenant-export", "filesystem:" + migrations)
            .load()
            .migrate()
            .migrationsExecuted;

    assertThat(applied).isEqualTo(1);
    try (Connection job = DriverManager.getConnection(url, EXPORT_JOB, PASSWORD)) {
      assertThat(
              strings(
                  job,
                  "SELECT DISTINCT coalesce(note, '-') || ' ' || policy_version FROM " + ROLLUP))
          .containsExactly("- 9");
      assertThat(
              strings(
                  job,
                  "SELECT relforcerowsecurity::text FROM pg_class"
                      + " WHERE oid = 'tenant_export.metric_rollup'::regclass"))
          .containsExactly("true");
    }
  }

  /**
   * A database of its own, owned by a login that is no superuser but may create roles, migrated as
   * that login (the group roles already exist, from the main database), and holding the same rows
   * as the main one, written by {@code export_job}. Embedded only: it creates a database.
   */
  private static synchronized String owned() throws SQLException {
    assumeTrue(
        warehouse.mode() == LocalWarehouse.Mode.EMBEDDED, "an external warehouse is not ours");
    if (ownedUrl != null) {
      return ownedUrl;
    }
    String url =
        warehouse.jdbcUrl().substring(0, warehouse.jdbcUrl().lastIndexOf('/') + 1) + OWNED_DATABASE;
    try (Connection admin = warehouse.connect();
        Statement s = admin.createStatement()) {
      s.execute("CREATE ROLE " + OWNER + " LOGIN CREATEROLE PASSWORD '" + PASSWORD + "'");
      s.execute("CREATE DATABASE " + OWNED_DATABASE + " OWNER " + OWNER);
    }
    // Every shipped migration applies as this owner, whatever their number.
    String[] shipped =
        new java.io.File("../warehouse/migrations").list((d, n) -> n.matches("V\\d+__.*\\.sql"));
    assertThat(shipped).isNotEmpty();
    assertThat(WarehouseMigrations.apply(url, OWNER, PASSWORD)).isEqualTo(shipped.length);
    try (Connection job = DriverManager.getConnection(url, EXPORT_JOB, PASSWORD)) {
      upsert(job, rollup("t-a", 0, "1.50"));
      upsert(job, rollup("t-b", 0, "100.00"));
    }
    ownedUrl = url;
    return url;
  }

  private static WarehouseRollup rollup(String tenant, int minute, String value) {
    Instant start = WINDOW.plus(Duration.ofMinutes(minute));
    return WarehouseRollup.newBuilder()
        .setTenantId(tenant)
        .setSourceTable("orders")
        .setMetric("order_amount")
        .setDimensions("{\"status\":\"paid\"}")
        .setWindowStart(start)
        .setWindowEnd(start.plus(Duration.ofMinutes(1)))
        .setValue(value)
        .setRowCount(1)
        .setRevision(1)
        .setExportVersion(1)
        .setPolicyVersion(3)
        .build();
  }

  private static void upsert(Connection c, WarehouseRollup r) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(WarehouseUpsert.SQL)) {
      new WarehouseUpsert().accept(ps, r);
      ps.executeUpdate();
    }
  }

  private static Connection connectAs(String login) throws SQLException {
    return DriverManager.getConnection(warehouse.jdbcUrl(), login, PASSWORD);
  }

  /** The first column of every row, as text. */
  private static List<String> strings(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      List<String> out = new ArrayList<>();
      while (rs.next()) {
        out.add(rs.getString(1));
      }
      return out;
    }
  }

  /** {@code sql} fails for lack of privilege (SQLSTATE 42501) with {@code message} in its text. */
  private static void assertRefused(Connection c, String sql, String message) {
    assertThatThrownBy(
            () -> {
              try (Statement s = c.createStatement()) {
                s.execute(sql);
              }
            })
        .as(sql)
        .isInstanceOfSatisfying(
            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42501"))
        .hasMessageContaining(message);
  }

  private static boolean isSuperuser(Connection c) throws SQLException {
    return strings(c, "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user")
        .equals(List.of("true"));
  }

  /** A login with {@link #PASSWORD}, replacing one left by an earlier run on the same cluster. */
  private static void createLogin(Statement admin, String login) throws SQLException {
    dropLogin(admin, login);
    admin.execute("CREATE ROLE " + login + " LOGIN PASSWORD '" + PASSWORD + "'");
  }

  private static void dropLogin(Statement admin, String login) throws SQLException {
    admin.execute("SELECT tenant_export.unbind_tenant_reader('" + login + "')");
    admin.execute("DROP ROLE IF EXISTS " + login);
  }
}
