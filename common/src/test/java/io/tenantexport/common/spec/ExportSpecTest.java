package io.tenantexport.common.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ExportSpecTest {
  private static final String VALID =
      """
      version: 3
      window: 5m
      allowed_lateness: 1m
      tables:
        - name: orders
          mode: mutable
          key: [id]
          event_time: ts
          columns:
            tenant_id: string
            id: long
            ts: {type: timestamp, unit: us}
            amount: {type: decimal, scale: 2}
            status: string
          dimensions: [status]
          metrics:
            - {name: order_count, type: count}
            - {name: order_amount, type: sum, column: amount}
      """;

  @Test
  void theShippedExampleSpecIsValid() {
    ExportSpec spec = ExportSpec.load(Path.of("../deploy/export-spec.yaml"));
    assertThat(spec.version()).isEqualTo(1);
    assertThat(spec.tables()).containsKeys("page_views", "orders", "invoices");
  }

  @Test
  void parsesTablesColumnsAndWindows() {
    ExportSpec spec = ExportSpec.parse(VALID, "spec.yaml");
    assertThat(spec.window()).isEqualTo(Duration.ofMinutes(5));
    assertThat(spec.allowedLateness()).isEqualTo(Duration.ofMinutes(1));
    TableSpec orders = spec.table("orders");
    assertThat(orders.isMutable()).isTrue();
    assertThat(orders.retention()).isEqualTo(Duration.ofDays(30));
    assertThat(orders.columns().get("amount").scale()).isEqualTo(2);
    assertThat(orders.columns().get("ts").unit()).isEqualTo("us");
    assertThat(spec.windowStart(299_999)).isZero();
    assertThat(spec.windowStart(300_000)).isEqualTo(300_000);
    assertThat(spec.windowStart(-1)).isEqualTo(-300_000);
  }

  @Test
  void errorsNameTheFileTheEntryAndTheProblem() {
    assertThatThrownBy(
            () -> ExportSpec.parse(VALID.replace("column: amount", "column: status"), "spec.yaml"))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("spec.yaml")
        .hasMessageContaining("tables[0] (orders).metrics[1]")
        .hasMessageContaining("'status' is string, not numeric");
    assertThatThrownBy(() -> ExportSpec.parse(VALID.replace("key: [id]", ""), "spec.yaml"))
        .hasMessageContaining("a mutable table needs 'key'");
    assertThatThrownBy(
            () ->
                ExportSpec.parse(
                    VALID.replace("dimensions: [status]", "dimensions: [email]"), "s.yaml"))
        .hasMessageContaining("column 'email' is used but not declared");
    assertThatThrownBy(() -> ExportSpec.parse(VALID.replace("window: 5m", "window: 7m"), "s.yaml"))
        .hasMessageContaining("divide a day evenly");
    assertThatThrownBy(() -> ExportSpec.parse(VALID.replace("version: 3", "version: 0"), "s.yaml"))
        .hasMessageContaining("'version' must be a positive integer");
    assertThatThrownBy(() -> ExportSpec.parse(VALID.replace("scale: 2", "unit: ms"), "s.yaml"))
        .hasMessageContaining("a decimal column needs 'scale'");
    assertThatThrownBy(
            () -> ExportSpec.parse(VALID.replace("tenant_id: string", "tenant: string"), "s.yaml"))
        .hasMessageContaining("columns must include the tenant column 'tenant_id'");
    assertThatThrownBy(
            () ->
                ExportSpec.parse(
                    VALID.replace("mode: mutable", "mode: mutable\n    colour: red"), "s.yaml"))
        .hasMessageContaining("unknown key 'colour'");
    assertThatThrownBy(() -> ExportSpec.parse("version: [", "s.yaml"))
        .hasMessageContaining("not valid YAML");
  }

  @Test
  void metricNamesAreUniqueAcrossTables() {
    String twice =
        VALID
            + """
          - name: refunds
            event_time: ts
            columns: {tenant_id: string, ts: timestamp}
            metrics:
              - {name: order_count, type: count}
        """;
    assertThatThrownBy(() -> ExportSpec.parse(twice, "s.yaml"))
        .hasMessageContaining("metric 'order_count' is already");
  }
}
