package io.tenantexport.local.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.common.cdc.CdcDecoder;
import io.tenantexport.common.cdc.DecodeResult;
import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.gen.Truth;
import io.tenantexport.common.spec.ExportSpec;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BenchDataTest {
  private static final ExportSpec SPEC = ExportSpec.load(Path.of("../export-spec.yaml"));

  @Test
  void spreadingGivesExactlyTheAskedNumberOfValidTenantIds() {
    TrafficGenerator gen = new TrafficGenerator(TrafficGenerator.Config.defaults(Instant.EPOCH));
    BenchData.Spread spread = new BenchData.Spread(gen.tenantIds(), 100);
    assertThat(spread.tenantIds())
        .hasSize(100)
        .doesNotHaveDuplicates()
        .containsAll(gen.tenantIds());
  }

  @Test
  void aSpreadRecordDecodesToTheTenantItsTruthNamesAndARowKeepsItsTenant() {
    TrafficGenerator gen =
        new TrafficGenerator(
            TrafficGenerator.Config.defaults(Instant.parse("2026-11-25T10:00:00Z")));
    BenchData.Spread spread = new BenchData.Spread(gen.tenantIds(), 24 * 5);
    CdcDecoder decoder = new CdcDecoder(SPEC);
    Map<String, String> tenantOfRow = new HashMap<>();
    Set<String> seen = new HashSet<>();
    int checked = 0;
    for (int i = 0; i < 5_000; i++) {
      GeneratedRecord r = spread.apply(gen.next());
      if (!(r.truth() instanceof Truth.Valid v)) {
        continue;
      }
      DecodeResult d =
          decoder.decode(new RawRecord(r.topic(), 0, i, r.timestamp(), r.key(), r.value(), null));
      if (d instanceof DecodeResult.Decoded decoded && decoded.event().getTenantId() != null) {
        assertThat(decoded.event().getTenantId()).as("record %d", i).isEqualTo(v.tenantId());
        checked++;
      }
      String row = v.table() + v.identity().substring(v.identity().indexOf('#'));
      String before = tenantOfRow.putIfAbsent(row, v.tenantId());
      assertThat(before == null ? v.tenantId() : before)
          .as("tenant of %s", row)
          .isEqualTo(v.tenantId());
      seen.add(v.tenantId());
    }
    assertThat(checked).isGreaterThan(3_000);
    // Spread tenants do appear, not only the generated ones.
    assertThat(seen).anyMatch(t -> t.matches(".*-s\\d+"));
  }

  @Test
  void theFeedCountsTheTenantsItsValidRecordsName() {
    BenchData.Feed feed =
        new BenchData.Feed(
            "t", 2_000, TrafficGenerator.Config.builder(Instant.parse("2026-11-25T10:00:00Z")));
    Set<String> named = new HashSet<>();
    for (int i = 0; i < 2_000; i++) {
      feed.next();
    }
    // The same records again, from a second feed with the same seed, counted by hand.
    TrafficGenerator gen =
        new TrafficGenerator(
            TrafficGenerator.Config.builder(Instant.parse("2026-11-25T10:00:00Z"))
                .tenants(BenchData.GENERATOR_MAX_TENANTS)
                .build());
    BenchData.Spread spread = new BenchData.Spread(gen.tenantIds(), 2_000);
    for (int i = 0; i < 2_000; i++) {
      if (spread.apply(gen.next()).truth() instanceof Truth.Valid v) {
        named.add(v.tenantId());
      }
    }
    assertThat(feed.tenantsWithInput()).isEqualTo(named.size()).isBetween(1, 2_000);
    assertThat(named).anyMatch(t -> t.matches(".*-s\\d+"));
  }

  @Test
  void noMoreTenantsThanGeneratedLeavesRecordsUntouched() {
    TrafficGenerator gen = new TrafficGenerator(TrafficGenerator.Config.defaults(Instant.EPOCH));
    BenchData.Spread spread = new BenchData.Spread(gen.tenantIds(), 24);
    for (int i = 0; i < 500; i++) {
      GeneratedRecord r = gen.next();
      assertThat(spread.apply(r)).isSameAs(r);
    }
  }
}
