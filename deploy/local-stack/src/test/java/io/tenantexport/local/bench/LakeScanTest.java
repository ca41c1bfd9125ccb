package io.tenantexport.local.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LakeScanTest {
  @TempDir Path lake;

  private void file(String relative, int bytes) throws Exception {
    Path f = lake.resolve(relative);
    Files.createDirectories(f.getParent());
    Files.write(f, new byte[bytes]);
  }

  @Test
  void countsVisibleFilesPerTenantAndTheirMedianSize() throws Exception {
    file("tenant_id=t00-acme/dt=2026-11-25/part-v1-a-0.parquet", 100);
    file("tenant_id=t00-acme/dt=2026-11-25/part-v1-a-1.parquet", 300);
    file("tenant_id=t00-acme/dt=2026-11-26/part-v1-b-0.parquet", 200);
    file("tenant_id=t01-globex/dt=2026-11-25/part-v1-a-0.parquet", 1000);
    // In progress or pending, and markers: not visible to a reader.
    file("tenant_id=t01-globex/dt=2026-11-25/.part-v1-a-1.parquet.inprogress.123", 5000);
    file("tenant_id=t01-globex/_SUCCESS", 0);
    file("README", 10);

    LakeScan scan = LakeScan.of(lake);

    assertThat(scan.filesByTenant()).isEqualTo(Map.of("t00-acme", 3, "t01-globex", 1));
    assertThat(scan.files()).isEqualTo(4);
    assertThat(scan.medianFileBytes()).isEqualTo(250.0);
    // Over 2 hours of event time: 1.5 and 0.5 files per tenant per hour.
    assertThat(scan.medianFilesPerTenantHour(2)).isEqualTo(1.0);
    assertThat(scan.maxFilesPerTenantHour(2)).isEqualTo(1.5);
  }

  @Test
  void aLakeNothingWasWrittenToIsEmpty() {
    LakeScan scan = LakeScan.of(lake.resolve("never-created"));
    assertThat(scan.files()).isZero();
    assertThat(scan.medianFileBytes()).isNaN();
  }
}
