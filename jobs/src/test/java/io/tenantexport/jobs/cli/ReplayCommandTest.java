package io.tenantexport.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.ProductionIo;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The replay command's checks and the settings it gives the replay job, without a cluster. */
class ReplayCommandTest {
  private static final Path FILE = Path.of("../deploy/job.yaml").toAbsolutePath().normalize();
  private static final Map<String, String> ENV = Map.of(JobConfig.PASSWORD_ENV, "pw");
  private static final JobConfig LIVE = JobConfig.load(FILE, new String[0], ENV);
  // The shipped spec: 1m windows, 2m allowed lateness, 1h max_event_time_ahead; checkpoints 10s.
  private static final ExportSpec SPEC = LIVE.spec();
  private static final Duration CHECKPOINT = LIVE.checkpointInterval();
  private static final Instant NOW = Instant.parse("2026-11-26T12:00:30Z");

  @Test
  void theTenantMustBeATenantIdAndTheTimesInstants() {
    CliRun badTenant =
        CliRun.run("replay", "--tenant", "Acme Corp", "--from", "2026-11-26T10:00:00Z");
    assertThat(badTenant.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(badTenant.err())
        .contains("tenant-export replay: --tenant \"Acme Corp\": must match [a-z0-9]");

    CliRun noFrom = CliRun.run("replay", "--tenant", "t00-acme");
    assertThat(noFrom.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(noFrom.err()).contains("missing --from");

    CliRun badTime = CliRun.run("replay", "--tenant", "t00-acme", "--from", "yesterday 10:00");
    assertThat(badTime.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(badTime.err()).contains("--from 'yesterday 10:00' is not an ISO-8601 instant");
  }

  @Test
  void fromAndToMustBeWindowBoundariesAndTheErrorSaysWhy() {
    assertThatThrownBy(() -> range("2026-11-26T10:00:30Z", "2026-11-26T10:05:00Z"))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("--from 2026-11-26T10:00:30Z is not a window boundary")
        .hasMessageContaining("a cut window would replace the complete live rollup with part of it")
        .hasMessageContaining(
            "nearest boundaries are 2026-11-26T10:00:00Z and 2026-11-26T10:01:00Z");
    assertThatThrownBy(() -> range("2026-11-26T10:00:00Z", "2026-11-26T10:04:59.999Z"))
        .hasMessageContaining("--to 2026-11-26T10:04:59.999Z is not a window boundary");
    assertThatThrownBy(() -> range("2026-11-26T10:05:00Z", "2026-11-26T10:05:00Z"))
        .hasMessageContaining("--to 2026-11-26T10:05:00Z must be after --from");
  }

  @Test
  void toDefaultsToTheLastBoundaryWhoseChangesHaveAllArrivedAndBeenCommitted() throws Exception {
    // now − (2m lateness + 1h ahead + 10s checkpoint) = 10:58:20 → the boundary 10:58:00.
    ReplayRange r =
        ReplayRange.of(
            SPEC, CHECKPOINT, "t00-acme", Instant.parse("2026-11-26T10:00:00Z"), null, NOW);
    assertThat(r.to()).isEqualTo(Instant.parse("2026-11-26T10:58:00Z"));
    assertThat(r.readEnd(SPEC)).isEqualTo(Instant.parse("2026-11-26T12:00:00Z"));

    assertThatThrownBy(() -> range("2026-11-26T10:00:00Z", "2026-11-26T10:59:00Z"))
        .hasMessageContaining("--to 2026-11-26T10:59:00Z is too recent")
        .hasMessageContaining("the latest --to now is 2026-11-26T10:58:00Z");
    assertThatThrownBy(
            () ->
                ReplayRange.of(
                    SPEC, CHECKPOINT, "t00-acme", Instant.parse("2026-11-26T10:58:00Z"), null, NOW))
        .hasMessageContaining(
            "leaves no complete window before the default --to 2026-11-26T10:58:00Z");
  }

  @Test
  void theRangeReachesAsFarAsTheReplayJobReads() throws Exception {
    ReplayRange r = range("2026-11-25T23:58:00Z", "2026-11-26T00:02:00Z");
    String id = ReplayCommand.replayId(3, NOW);
    JobConfig replay =
        JobConfig.load(
            FILE,
            new String[] {
              "--job.tenants=t00-acme",
              "--replay.id=" + id,
              "--replay.from=" + r.from(),
              "--replay.to=" + r.to(),
              "--kafka.bounded=true"
            },
            ENV);
    ProductionIo.ReplayReach reach = ProductionIo.ReplayReach.of(replay);
    assertThat(Instant.ofEpochMilli(reach.endRecordTime())).isEqualTo(r.readEnd(SPEC));
    // It reads back as far as the live job keeps a mutable row's image (the spec's retention).
    java.time.Duration back = ReplayRange.margin(SPEC);
    for (var t : SPEC.tables().values()) {
      if (t.isMutable() && t.retention().compareTo(back) > 0) {
        back = t.retention();
      }
    }
    assertThat(back).isGreaterThan(ReplayRange.margin(SPEC));
    assertThat(Instant.ofEpochMilli(reach.firstRecordTime())).isEqualTo(r.from().minus(back));
    assertThat(r.days())
        .containsExactly(LocalDate.parse("2026-11-25"), LocalDate.parse("2026-11-26"));
  }

  @Test
  void theReplayJobIsTheLiveJobScopedToTheTenantAndRangeWithItsOwnGroupIdsAndLake()
      throws Exception {
    List<String> liveArgs =
        List.of(
            "--config",
            FILE.toString(),
            "--kafka.bootstrap_servers=broker:9092",
            "--kafka.bounded=false");
    ExportRegistry.Row current =
        new ExportRegistry.Row(
            4L, NOW, "deploy", "job", "jar", "/jar", liveArgs, "v1", 1, null, "ok", null);
    JobConfig live = ReplayCommand.liveConfig(current, ENV);
    assertThat(live.bootstrapServers()).isEqualTo("broker:9092");
    ReplayRange r = range("2026-11-26T10:00:00Z", "2026-11-26T10:05:00Z");
    String id = ReplayCommand.replayId(7, NOW);
    Path lake = Path.of("/data/lake");

    List<String> args = ReplayCommand.programArgs(liveArgs, live, r, id, 7, lake);

    assertThat(args.subList(0, liveArgs.size())).isEqualTo(liveArgs);
    JobConfig replay =
        ReplayCommand.liveConfig(
            new ExportRegistry.Row(
                5L, NOW, "replay", "job", "jar", "/jar", args, "v1", 7, null, "ok", null),
            ENV);
    assertThat(replay.isReplay()).isTrue();
    assertThat(replay.replayId()).isEqualTo(id);
    assertThat(replay.tenants()).containsExactly("t00-acme");
    assertThat(replay.replayFrom()).isEqualTo(r.from());
    assertThat(replay.replayTo()).isEqualTo(r.to());
    assertThat(replay.spec().version()).isEqualTo(7);
    assertThat(replay.groupId()).isEqualTo(live.groupId() + "-replay-" + id);
    assertThat(replay.transactionalIdPrefix())
        .isEqualTo(live.transactionalIdPrefix() + "-replay-" + id);
    assertThat(replay.lakePath()).isEqualTo("file:///data/lake/_staging/replay-" + id);
    assertThat(replay.idleTimeout()).isEqualTo(Duration.ofDays(30));
    assertThat(replay.auditTopic()).isEqualTo(live.auditTopic());
    assertThat(replay.bootstrapServers()).isEqualTo("broker:9092");
  }

  @Test
  void theExportVersionIsAboveEveryRecordedOrWrittenOne() {
    List<ExportRegistry.Row> registry = new ArrayList<>();
    for (Integer v : new Integer[] {1, 3, null, 2}) {
      registry.add(
          new ExportRegistry.Row(
              1L, NOW, "deploy", null, null, null, null, "v", v, null, "ok", null));
    }
    assertThat(ReplayWarehouse.nextExportVersion(registry, 2, 1)).isEqualTo(4);
    assertThat(ReplayWarehouse.nextExportVersion(registry, 9, 1)).isEqualTo(10);
    assertThat(ReplayWarehouse.nextExportVersion(List.of(), 0, 5)).isEqualTo(6);
  }

  @Test
  void theReplayIdIsAValidReplayIdThatNamesTheVersion() {
    String id = ReplayCommand.replayId(12, NOW);
    assertThat(id).isEqualTo("r12-20261126t120030").matches("[a-z0-9][a-z0-9-]{0,39}");
  }

  private static ReplayRange range(String from, String to) throws UsageException {
    return ReplayRange.of(
        SPEC, CHECKPOINT, "t00-acme", Instant.parse(from), Instant.parse(to), NOW);
  }
}
