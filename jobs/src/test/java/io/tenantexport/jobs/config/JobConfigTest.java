package io.tenantexport.jobs.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobConfigTest {
  private static final Path FILE = Path.of("../deploy/job.yaml");

  @Test
  void theShippedJobFileIsValidAndFlagsOverrideIt() {
    JobConfig c =
        JobConfig.load(
            FILE,
            new String[] {"--kafka.bootstrap_servers=broker:9092", "--job.parallelism", "4"},
            Map.of(JobConfig.PASSWORD_ENV, "s3cret"));
    assertThat(c.bootstrapServers()).isEqualTo("broker:9092");
    assertThat(c.parallelism()).isEqualTo(4);
    assertThat(c.checkpointInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.spec().tables()).containsKey("orders"); // spec path resolved next to the file
    assertThat(c.warehousePassword()).isEqualTo("s3cret");
    assertThat(c.cachedWindows()).isEqualTo(JobConfig.DEFAULT_CACHED_WINDOWS);
  }

  @Test
  void theWindowCacheSizeIsASettingOfAtLeastOneWindow() {
    JobConfig c = JobConfig.load(FILE, new String[] {"--job.cached_windows=16"}, Map.of());
    assertThat(c.cachedWindows()).isEqualTo(16);
    assertThat(c.toString()).contains("job.cached_windows=16");
    assertThatThrownBy(
            () -> JobConfig.load(FILE, new String[] {"--job.cached_windows=0"}, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "job.cached_windows = '0' (flag --job.cached_windows): must be a positive integer");
  }

  @Test
  void thePasswordNeverAppearsInToString() {
    JobConfig c =
        JobConfig.load(FILE, new String[0], Map.of(JobConfig.PASSWORD_ENV, "s3cret-value"));
    assertThat(c.toString()).doesNotContain("s3cret-value").contains("(set, redacted)");
  }

  @Test
  void errorsNameTheKeyTheValueAndWhereItWasSet() {
    assertThatThrownBy(
            () -> JobConfig.load(FILE, new String[] {"--job.parallelism=zero"}, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "job.parallelism = 'zero' (flag --job.parallelism): must be a positive integer");
    assertThatThrownBy(() -> JobConfig.load(FILE, new String[] {"--kafka.bootstrap=x"}, Map.of()))
        .hasMessageContaining("unknown setting 'kafka.bootstrap' (flag --kafka.bootstrap)");
    assertThatThrownBy(
            () -> JobConfig.load(FILE, new String[] {"--kafka.transaction_timeout=1h"}, Map.of()))
        .hasMessageContaining("transaction.max.timeout.ms");
    assertThatThrownBy(
            () -> JobConfig.load(FILE, new String[] {"--kafka.transaction_timeout=15s"}, Map.of()))
        .hasMessageContaining(
            "kafka.transaction_timeout = '15s' (flag --kafka.transaction_timeout): must be at least"
                + " job.checkpoint_interval + 2 × job.checkpoint_timeout (PT10S + 2 × PT4M)");
    assertThatThrownBy(
            () ->
                JobConfig.load(
                    FILE, new String[] {"--kafka.idle_partition_timeout=10ms"}, Map.of()))
        .hasMessageContaining("kafka.idle_partition_timeout = '10ms' (flag")
        .hasMessageContaining("must be at least 100ms");
    assertThatThrownBy(
            () -> JobConfig.load(FILE, new String[] {"--kafka.topic_pattern=cdc.*"}, Map.of()))
        .hasMessageContaining("exactly one of kafka.topics and kafka.topic_pattern");
    assertThatThrownBy(
            () -> JobConfig.load(FILE, new String[] {"--warehouse.url=jdbc:mysql://x"}, Map.of()))
        .hasMessageContaining("must be a jdbc:postgresql: URL");
    assertThatThrownBy(
            () ->
                JobConfig.load(
                    FILE, new String[] {"--kafka.audit_topic=tenant-export.quarantine"}, Map.of()))
        .hasMessageContaining("must all differ");
  }

  @Test
  void anInvalidPolicyFolderStopsTheSubmissionNamingFileAndLine(@TempDir Path dir)
      throws Exception {
    Files.writeString(
        dir.resolve("t00-acme.yaml"),
        "tenant: t00-acme\nversion: 1\nstatus: active\ntables:\n  no_such_table:\n    x: keep\n");
    assertThatThrownBy(
            () -> JobConfig.load(FILE, new String[] {"--policy.folder=" + dir}, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("policy.folder")
        .hasMessageContaining("t00-acme.yaml:5")
        .hasMessageContaining("no_such_table");
  }

  @Test
  void pathsInTheJobFileAreRelativeToIt() {
    JobConfig c = JobConfig.load(FILE, new String[0], Map.of());
    assertThat(Path.of(c.policyFolder()))
        .isEqualTo(FILE.toAbsolutePath().getParent().resolve("policies").normalize());
    assertThat(c.policyDocuments()).containsKey("t00-acme");
    assertThat(c.keyOptions()).containsEntry("provider", "local");
  }

  @Test
  void aCheckpointMustFailBeforeTheSinksTransactionsCanExpire() {
    // 10s + 2 × 4m = 8m10s: the shipped 10m fits; a checkpoint allowed 5m would not.
    assertThat(JobConfig.load(FILE, new String[0], Map.of()).checkpointTimeout())
        .isEqualTo(Duration.ofMinutes(4));
    assertThatThrownBy(
            () -> JobConfig.load(FILE, new String[] {"--job.checkpoint_timeout=5m"}, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("(PT10S + 2 × PT5M)")
        .hasMessageContaining("Kafka aborts one that outlives it, losing its records");
    JobConfig raised =
        JobConfig.load(
            FILE,
            new String[] {"--job.checkpoint_timeout=7m", "--kafka.transaction_timeout=15m"},
            Map.of());
    assertThat(raised.checkpointTimeout()).isEqualTo(Duration.ofMinutes(7));
  }
}
