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

  @Test
  void idleStateIsReportedPerOperatorAndPerTenant() throws Exception {
    Map<String, Long> bytes = new LinkedHashMap<>();
    bytes.put("per-tenant windows", 5_000L);
    bytes.put("dedupe + row images", 15_000L);
    Map<Integer, IdleStateProbe.IdleState> idle = new LinkedHashMap<>();
    idle.put(100, new IdleStateProbe.IdleState("FINISHED", bytes));
    idle.put(1000, new IdleStateProbe.IdleState("timeout PT10M after 5 records", Map.of()));
    Report report = new Report(Map.of(), List.of(), Map.of(), idle);

    assertThat(report.markdown())
        .contains("| 100 | per-tenant windows | 5,000 | 50.0 |")
        .contains("| 100 | dedupe + row images | 15,000 | 150.0 |")
        .contains("| 100 | **all operators** | 20,000 | 200.0 |")
        .contains("| 1000 | timeout PT10M after 5 records | – | – |");

    report.write(tmp);
    JsonNode json = new ObjectMapper().readTree(tmp.resolve("results.json").toFile());
    assertThat(json.at("/idle_state/100/state_bytes_per_tenant").asDouble()).isEqualTo(200.0);
    assertThat(json.at("/idle_state/100/state_bytes_by_operator/per-tenant windows").asLong())
        .isEqualTo(5_000);
    assertThat(json.at("/idle_state/1000/status").asText()).startsWith("timeout");
  }
}
