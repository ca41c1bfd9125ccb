package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.jobs.io.WarehouseUpsert;
import io.tenantexport.local.infra.LocalWarehouse;
import io.tenantexport.schemas.WarehouseRollup;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The guarded upsert on a real PostgreSQL with the real migrations. */
class WarehouseUpsertTest {
  private static LocalWarehouse warehouse;

  @BeforeAll
  static void start() {
    warehouse = LocalWarehouse.start();
    warehouse.migrate();
  }

  @AfterAll
  static void stop() {
    warehouse.close();
  }

  @BeforeEach
  void empty() throws Exception {
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement()) {
      s.execute("TRUNCATE tenant_export.metric_rollup");
    }
  }

  private static WarehouseRollup row(int exportVersion, String value, long revision) {
    return row(exportVersion, value, revision, 1);
  }

  private static WarehouseRollup row(
      int exportVersion, String value, long revision, long policyVersion) {
    return WarehouseRollup.newBuilder()
        .setTenantId("acme")
        .setSourceTable("orders")
        .setMetric("order_amount")
        .setDimensions("{\"status\":\"paid\"}")
        .setWindowStart(Instant.parse("2026-11-26T10:00:00Z"))
        .setWindowEnd(Instant.parse("2026-11-26T10:01:00Z"))
        .setValue(value)
        .setRowCount(1)
        .setRevision(revision)
        .setExportVersion(exportVersion)
        .setPolicyVersion(policyVersion)
        .build();
  }

  private static void upsert(WarehouseRollup r) throws Exception {
    try (Connection c = warehouse.connect();
        PreparedStatement ps = c.prepareStatement(WarehouseUpsert.SQL)) {
      new WarehouseUpsert().accept(ps, r);
      ps.executeUpdate();
    }
  }

  /** value | export_version | policy_version | exported_at of the one row. */
  private static String current() throws Exception {
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT value, export_version, policy_version, exported_at"
                    + " FROM tenant_export.metric_rollup")) {
      assertThat(rs.next()).isTrue();
      String out =
          rs.getBigDecimal(1).toPlainString()
              + "|"
              + rs.getInt(2)
              + "|"
              + rs.getLong(3)
              + "|"
              + rs.getObject(4, OffsetDateTime.class).toInstant();
      assertThat(rs.next()).as("one row per key").isFalse();
      return out;
    }
  }

  @Test
  void anIdenticalRewriteChangesNothingNotEvenExportedAt() throws Exception {
    upsert(row(1, "12.50", 3));
    String first = current();
    Thread.sleep(20);
    upsert(row(1, "12.50", 3));
    assertThat(current()).isEqualTo(first);
  }

  @Test
  void withinOneExportVersionTheLatestAttemptWins() throws Exception {
    upsert(row(1, "12.50", 3));
    upsert(
        row(
            1, "10.00",
            2)); // the attempt that restored the checkpoint closed the window differently
    assertThat(current()).startsWith("10.00|1|");
  }

  @Test
  void anOlderExportVersionNeverOverwritesANewerOne() throws Exception {
    upsert(row(2, "99.00", 1));
    upsert(row(1, "12.50", 9));
    assertThat(current()).startsWith("99.00|2|");
    upsert(row(3, "1.00", 1));
    assertThat(current()).startsWith("1.00|3|");
  }

  @Test
  void writesThePolicyVersionThatProducedTheRow() throws Exception {
    upsert(row(1, "12.50", 3, 7));
    assertThat(current()).startsWith("12.50|1|7|");
  }

  @Test
  void theSameNumbersUnderANewerPolicyVersionReplaceTheRow() throws Exception {
    upsert(row(1, "12.50", 3, 7));
    String first = current();
    Thread.sleep(20);
    upsert(row(1, "12.50", 3, 8));
    String second = current();
    assertThat(second).startsWith("12.50|1|8|");
    assertThat(exportedAt(second)).isAfter(exportedAt(first));
  }

  private static Instant exportedAt(String current) {
    return Instant.parse(current.substring(current.lastIndexOf('|') + 1));
  }
}
