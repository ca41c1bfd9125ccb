package io.tenantexport.local.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LatencyProbeTest {
  private static LatencyProbe.Visible visible(long at, String json) {
    return new LatencyProbe.Visible(at, json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void anAuditEventNamingAProducedRecordMeasuresFromThatRecordsSourceTime() {
    var v = visible(10_500, "{\"type\":\"QUARANTINE\",\"origin\":\"p.orders/0@42\"}");
    assertThat(LatencyProbe.recordLatency(v, Map.of("p.orders/0@42", 10_000L))).isEqualTo(500.0);
    assertThat(LatencyProbe.recordLatency(v, Map.of("p.orders/0@43", 10_000L))).isNull();
  }

  @Test
  void aReceiptMeasuresFromTheEarliestMomentItsWindowMayClose() {
    // Window end 12:01:00, allowed lateness 2 min: it may close at 12:03:00.000.
    long closes = java.time.Instant.parse("2026-11-26T12:03:00Z").toEpochMilli();
    var v =
        visible(
            closes + 1_250,
            "{\"type\":\"WINDOW_RECEIPT\",\"window_end\":\"2026-11-26T12:01:00Z\",\"origin\":null}");
    assertThat(LatencyProbe.receiptLatency(v, 120_000)).isEqualTo(1_250.0);
    assertThat(LatencyProbe.recordLatency(v, Map.of())).isNull();
  }

  @Test
  void otherAuditEventsAndNonJsonAreNotLatencies() {
    var start = visible(1, "{\"type\":\"JOB_START\",\"window_end\":null}");
    assertThat(LatencyProbe.receiptLatency(start, 0)).isNull();
    assertThat(LatencyProbe.receiptLatency(visible(1, "not json"), 0)).isNull();
  }
}
