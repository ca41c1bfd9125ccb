package io.tenantexport.local.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {
  @TempDir Path tmp;

  private static IdleStateProbe.IdleState idle(long windows, long dedupe, int withInput) {
    Map<String, Long> bytes = new LinkedHashMap<>();
    bytes.put("per-tenant windows", windows);
    bytes.put("dedupe + row images", dedupe);
    bytes.put("lake file buffer -> lake (Parquet)", 7 * windows);
    return new IdleStateProbe.IdleState("FINISHED", bytes, withInput);
  }

  @Test
  void idleStateIsReportedPerVertexPerTenantAndPerAddedTenant() throws Exception {
    Map<Integer, IdleStateProbe.IdleState> idle = new LinkedHashMap<>();
    idle.put(10, idle(5_000, 15_000, 10));
    idle.put(1000, idle(104_000, 114_000, 800));
    idle.put(
        100_000, new IdleStateProbe.IdleState("UNSETTLED: windows closed 7 (PT10M)", Map.of(), 0));
    Report report = new Report(Map.of(), List.of(), Map.of(), idle);

    assertThat(report.markdown())
        .contains("| 10 (10) | per-tenant windows | 5,000 | 500.0 | 500.0 |")
        .contains("| 1000 (800) | lake file buffer -> lake (Parquet) | 728,000 | 728.0 | 910.0 |")
        .contains("| 1000 (800) | **all but buffered lake rows** | 218,000 | 218.0 | 272.5 |")
        .contains("| 100000 (0) | UNSETTLED: windows closed 7 (PT10M) | – | – | – |")
        // The fixed 4,000 bytes of each vertex at 10 tenants drop out of the slope.
        .contains("per-tenant windows 100.0 B; dedupe + row images 100.0 B;")
        .contains("all 200.0 B.");

    report.write(tmp);
    JsonNode json = new ObjectMapper().readTree(tmp.resolve("results.json").toFile());
    assertThat(
            json.at("/idle_state/1000/state_bytes_per_tenant_without_buffered_lake_rows")
                .asDouble())
        .isEqualTo(218.0);
    assertThat(json.at("/idle_state/1000/state_bytes").asLong()).isEqualTo(946_000);
    assertThat(json.at("/idle_state/1000/tenants_with_input").asInt()).isEqualTo(800);
    assertThat(json.at("/idle_state/10/state_bytes_by_vertex/per-tenant windows").asLong())
        .isEqualTo(5_000);
    assertThat(
            json.at("/idle_state/100000/state_bytes_per_tenant_without_buffered_lake_rows")
                .isNull())
        .isTrue();
    assertThat(json.at("/idle_state_bytes_per_added_tenant/all").asDouble()).isEqualTo(200.0);
  }
}
