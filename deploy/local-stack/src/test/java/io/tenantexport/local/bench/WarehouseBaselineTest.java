package io.tenantexport.local.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.schemas.WarehouseRollup;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class WarehouseBaselineTest {
  private static WarehouseRollup rollup(String tenant, String metric, String start) {
    Instant s = Instant.parse(start);
    return WarehouseRollup.newBuilder()
        .setTenantId(tenant)
        .setSourceTable("orders")
        .setMetric(metric)
        .setDimensions("{}")
        .setWindowStart(s)
        .setWindowEnd(s.plusSeconds(60))
        .setValue("12.50")
        .setRowCount(3)
        .setRevision(2)
        .setExportVersion(1)
        .setPolicyVersion(4)
        .build();
  }

  @Test
  void widenedRowsAreTheRunsRowsThenWholeDaysLaterWithNewKeys() {
    List<WarehouseRollup> rows =
        List.of(
            rollup("t1", "order_count", "2026-11-20T10:00:00Z"),
            rollup("t2", "order_amount", "2026-11-20T10:01:00Z"),
            rollup("t1", "order_amount", "2026-11-20T10:00:00Z"));
    List<WarehouseRollup> wide = WarehouseBaseline.widen(rows, 8);
    assertThat(wide).hasSize(9); // whole copies: 3 rows, 3 times
    assertThat(wide.subList(0, 3)).isEqualTo(rows);
    Set<String> keys = new HashSet<>();
    for (int i = 0; i < wide.size(); i++) {
      WarehouseRollup w = wide.get(i);
      WarehouseRollup original = rows.get(i % 3);
      Duration later = Duration.ofDays(i / 3);
      assertThat(w.getWindowStart()).isEqualTo(original.getWindowStart().plus(later));
      assertThat(w.getWindowEnd()).isEqualTo(original.getWindowEnd().plus(later));
      assertThat(
              WarehouseRollup.newBuilder(w)
                  .setWindowStart(original.getWindowStart())
                  .setWindowEnd(original.getWindowEnd())
                  .build())
          .isEqualTo(original);
      keys.add(w.getTenantId() + "|" + w.getMetric() + "|" + w.getWindowStart());
    }
    assertThat(keys).hasSize(9);
    assertThat(WarehouseBaseline.widen(List.of(), 8)).isEmpty();
    assertThat(WarehouseBaseline.widen(rows, 2)).isEqualTo(rows);
  }

  @Test
  void recordsCarryTheRowsAsAvroBinaryKeyedByTenant() throws Exception {
    List<WarehouseRollup> rows =
        List.of(
            rollup("t1", "order_count", "2026-11-20T10:00:00Z"),
            rollup("t2", "order_amount", "2026-11-20T10:01:00Z"));
    List<ProducerRecord<byte[], byte[]>> records = WarehouseBaseline.asRecords("r", rows);
    SpecificDatumReader<WarehouseRollup> reader = new SpecificDatumReader<>(WarehouseRollup.class);
    List<WarehouseRollup> back = new ArrayList<>();
    for (ProducerRecord<byte[], byte[]> r : records) {
      assertThat(r.topic()).isEqualTo("r");
      back.add(reader.read(null, DecoderFactory.get().binaryDecoder(r.value(), null)));
      assertThat(new String(r.key(), StandardCharsets.UTF_8))
          .isEqualTo(back.get(back.size() - 1).getTenantId());
    }
    assertThat(back).isEqualTo(rows);
  }
}
