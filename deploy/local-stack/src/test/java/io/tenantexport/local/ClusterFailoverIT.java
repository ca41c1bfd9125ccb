package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.gen.Truth;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.TenantExportJob;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.local.ItStack.Sources;
import io.tenantexport.local.infra.LocalFlinkCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job jar on a real Flink session cluster (a JobManager and TaskManagers, each its own JVM,
 * configured from {@code deploy/config.yaml}), submitted through the REST API as an operator would,
 * survives three lost machines in one run: the TaskManager that runs the job is killed with SIGKILL
 * three times, each time halfway through a slice of input that is still streaming into Kafka and
 * after a checkpoint completed since the previous recovery. After each of the first two kills a
 * fresh TaskManager (a new resource id, like a replacement machine) starts while the job recovers,
 * so that the next kill still leaves free slots for the whole job.
 *
 * <p>After each kill the test waits, through the REST API, for a restart ({@code numRestarts} up),
 * for a restore from a checkpoint at least as new as the last one completed before the kill, for
 * every task running again and for a new completed checkpoint; the job must not restart without a
 * kill. The input arrives in slices: one before the job starts, one streaming across each kill (its
 * second half produced while the job is down) and one after the last recovery. Once every offset is
 * committed the job is stopped with a draining savepoint and must FINISH; then every tenant's lake
 * rows, warehouse rows and audit receipts (events, duplicates, quarantined and late counts per
 * window, one receipt per window), the late-change and quarantine audit events and the quarantine
 * records equal the reference computed from the generator's ground truth: nothing lost, nothing
 * duplicated.
 *
 * <p>The job runs unbounded: a bounded Kafka source stops at the end offsets it finds when the job
 * starts, so it would never read the slices produced later; the draining stop ends event time and
 * flushes every open window exactly as the end of a bounded input does.
 */
class ClusterFailoverIT {
  private static final int RECORDS = 20_000;
  private static final int KILLS = 3;

  /** One slice before the job starts, one streaming across each kill, one after the last. */
  private static final int SLICES = KILLS + 2;

  /** A slice streams in batches this large, {@link #PACE} apart, while the test kills and waits. */
  private static final int BATCH = 200;

  private static final Duration PACE = Duration.ofMillis(150);

  /** Above the input's event-time span: no change is late, whatever the interleaving. */
  private static final String LATENESS = "60m";

  /** Generous: on a loaded two-core machine a recovery has taken a minute. */
  private static final Duration RECOVERY_TIMEOUT = Duration.ofMinutes(2);

  /** Kept when the test fails: the cluster's logs are under {@code flink/log}. */
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  /** What one kill did to the job, from the REST API. */
  private record Recovery(
      int kill,
      String victim,
      long checkpointBeforeKill,
      long restoredCheckpoint,
      long restartsBefore,
      long restartsAfter,
      int producedAtKill,
      long recoveredMillis) {}

  @Test
  void killingTheJobsTaskManagerThreeTimesWhileInputFlowsChangesNoOutput() throws Exception {
    Path jar = ClusterRuns.jobJar();
    long t0 = System.nanoTime();
    ExportSpec spec = ItStack.spec(LATENESS);
    try (ItStack stack = ItStack.start(tmp, spec, ClusterRuns.POLICIES);
        Feeder feeder = new Feeder(stack)) {
      stack.createTopics(Sources.AS_GENERATED);
      List<GeneratedRecord> input =
          new TrafficGenerator(TrafficGenerator.Config.defaults(ItStack.inputStart()))
              .take(RECORDS);
      List<List<GeneratedRecord>> slices = new ArrayList<>();
      for (int i = 0; i < SLICES; i++) {
        slices.add(input.subList(i * RECORDS / SLICES, (i + 1) * RECORDS / SLICES));
      }
      Reference reference = ClusterRuns.reference(stack, spec, input);
      JobConfig c = stack.config("cluster", Sources.AS_GENERATED, false, "1h", stack.writer());
      Path jobYaml = ClusterRuns.writeJobYaml(tmp, c, LATENESS);
      feeder.produceNow(slices.get(0));
      log(t0, "Kafka and PostgreSQL ready; slice 0 (%d records) produced", slices.get(0).size());

      // Two slots per TaskManager: the job (parallelism 2) fits on any one of them alone.
      try (LocalFlinkCluster flink =
          LocalFlinkCluster.start(
              tmp.resolve("flink"),
              2,
              2,
              Map.of(JobConfig.PASSWORD_ENV, stack.writer().password()))) {
        log(t0, "cluster up at %s", flink.restUrl());
        String jarId = flink.uploadJar(jar);
        String job =
            flink.runJar(
                jarId,
                TenantExportJob.class.getName(),
                List.of("--config", jobYaml.toString(), "--kafka.bounded=false"),
                Map.of(
                    "restart-strategy.type", "fixed-delay",
                    "restart-strategy.fixed-delay.attempts", "10",
                    "restart-strategy.fixed-delay.delay", "1 s"));
        await(
            "a completed checkpoint",
            () -> latestCompleted(flink, job) >= 0,
            RECOVERY_TIMEOUT,
            flink,
            job);
        log(
            t0,
            "job %s RUNNING on %s, checkpoint %d completed",
            job,
            flink.taskManagersOf(job),
            latestCompleted(flink, job));

        List<Recovery> recoveries = new ArrayList<>();
        // The first checkpoint completed after the start, then after each restore.
        long checkpointAfterRecovery = latestCompleted(flink, job);
        long restarts = 0;
        int nextTaskManager = 3;
        CompletableFuture<Void> replacement = CompletableFuture.completedFuture(null);
        for (int kill = 1; kill <= KILLS; kill++) {
          List<GeneratedRecord> slice = slices.get(kill);
          replacement.get(RECOVERY_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
          Set<String> running = flink.taskManagersOf(job);
          // A TaskManager reports its slots just after it registers.
          await(
              "free slots for the whole job on TaskManagers other than " + running,
              () -> freeSlotsBesides(flink, running) >= c.parallelism(),
              Duration.ofSeconds(30),
              flink,
              job);
          String victim = running.stream().sorted().findFirst().orElseThrow();
          int producedBefore = feeder.produced();
          long checkpointBeforeSlice = latestCompleted(flink, job);
          CountDownLatch killed = new CountDownLatch(1);
          Future<?> streaming = feeder.stream(slice, killed);
          // The kill must hit a job that is mid-stream, with a checkpoint behind it that the
          // recovery can restore: changes read after that checkpoint are replayed, and the sinks
          // must neither lose nor repeat what the dead TaskManager had written of them. Halfway
          // through the slice, so that its second half arrives while the job is down.
          await(
              "half of slice " + kill + " produced",
              () -> feeder.produced() >= producedBefore + slice.size() / 2,
              RECOVERY_TIMEOUT,
              flink,
              job);
          assertThat(restarts(flink, job))
              .as("restarts before kill %d: none without a kill", kill)
              .isEqualTo(restarts);
          assertThat(flink.jobState(job)).as("job state at kill %d", kill).isEqualTo("RUNNING");
          assertThat(streaming.isDone()).as("slice %d still streaming at the kill", kill).isFalse();
          long checkpointBeforeKill = latestCompleted(flink, job);
          assertThat(checkpointBeforeKill)
              .as("checkpoint completed since the previous recovery, before kill %d", kill)
              .isGreaterThanOrEqualTo(checkpointAfterRecovery);
          int producedAtKill = feeder.produced();
          boolean held = feeder.held();
          long killedAt = System.currentTimeMillis();
          long killedNanos = System.nanoTime();
          flink.killTaskManager(Integer.parseInt(victim.substring(2)));
          killed.countDown();
          log(
              t0,
              "kill %d: kill -9 %s (job on %s) after checkpoint %d (%s since slice %d started),"
                  + " slice %d at %d of %d records%s",
              kill,
              victim,
              running,
              checkpointBeforeKill,
              checkpointBeforeKill - checkpointBeforeSlice,
              kill,
              kill,
              producedAtKill - producedBefore,
              slice.size(),
              held ? " (its feeder waited for the kill)" : ", streaming");

          if (kill < KILLS) {
            // The replacement machine, for the next kill to leave enough slots: it starts while
            // the JobManager detects the loss and the job recovers, and must not disturb either.
            int k = nextTaskManager++;
            int n = kill;
            replacement =
                CompletableFuture.runAsync(
                    () -> {
                      flink.startTaskManager(k);
                      log(
                          t0,
                          "kill %d: replacement %s registered %d ms after the kill",
                          n,
                          LocalFlinkCluster.taskManagerId(k),
                          (System.nanoTime() - killedNanos) / 1_000_000);
                    });
          }

          long restartsBefore = restarts;
          await(
              "a restart after kill " + kill,
              () -> restarts(flink, job) > restartsBefore,
              RECOVERY_TIMEOUT,
              flink,
              job);
          await(
              "a restore after kill " + kill,
              () -> restored(flink, job).path("restore_timestamp").asLong() >= killedAt,
              RECOVERY_TIMEOUT,
              flink,
              job);
          await(
              "every task running (or finished) again after kill " + kill,
              () -> allTasksRunningOrFinished(flink, job),
              RECOVERY_TIMEOUT,
              flink,
              job);
          long restoredCheckpoint = restored(flink, job).path("id").asLong();
          await(
              "a checkpoint completed after the restore of kill " + kill,
              () -> latestCompleted(flink, job) > restoredCheckpoint,
              RECOVERY_TIMEOUT,
              flink,
              job);
          checkpointAfterRecovery = latestCompleted(flink, job);
          restarts = restarts(flink, job);
          Recovery r =
              new Recovery(
                  kill,
                  victim,
                  checkpointBeforeKill,
                  restoredCheckpoint,
                  restartsBefore,
                  restarts,
                  producedAtKill,
                  (System.nanoTime() - killedNanos) / 1_000_000);
          recoveries.add(r);
          assertThat(restored(flink, job).path("is_savepoint").asBoolean())
              .as("kill %d restored a checkpoint, not a savepoint", kill)
              .isFalse();
          assertThat(restoredCheckpoint)
              .as("kill %d: restored checkpoint vs the last completed before the kill", kill)
              .isGreaterThanOrEqualTo(checkpointBeforeKill);
          Set<String> after = flink.taskManagersOf(job);
          assertThat(after).doesNotContain(victim);
          log(
              t0,
              "kill %d: job RUNNING again on %s %d ms after the kill, restored checkpoint %d,"
                  + " numRestarts %d -> %d, checkpoint %d completed since",
              kill,
              after,
              r.recoveredMillis(),
              restoredCheckpoint,
              restartsBefore,
              restarts,
              checkpointAfterRecovery);
          streaming.get(60, TimeUnit.SECONDS);
        }

        // The last slice arrives at the job recovered from the third kill.
        feeder.produceNow(slices.get(SLICES - 1));
        assertThat(feeder.produced()).isEqualTo(RECORDS);
        log(t0, "all %d records produced; waiting for the job to commit every offset", RECORDS);
        stack.awaitCommitted(c);
        long restartsAtEnd = restarts(flink, job);
        JsonNode counts = flink.get("/jobs/" + job + "/checkpoints").path("counts");
        log(
            t0,
            "every offset committed; numRestarts %d, checkpoints completed %d, restored %d",
            restartsAtEnd,
            counts.path("completed").asLong(),
            counts.path("restored").asLong());
        assertThat(restartsAtEnd).as("restarts after the last recovery").isEqualTo(restarts);
        assertThat(recoveries).hasSize(KILLS);
        assertThat(recoveries)
            .extracting(Recovery::restoredCheckpoint)
            .as("each recovery restored a newer checkpoint than the one before")
            .isSorted()
            .doesNotHaveDuplicates();
        assertThat(counts.path("restored").asLong())
            .as("restores from checkpoints")
            .isGreaterThanOrEqualTo(KILLS);

        String savepoint = drain(flink, job);
        await(
            "the drained job to finish",
            () -> flink.jobState(job).equals("FINISHED"),
            Duration.ofSeconds(60),
            flink,
            job);
        log(t0, "job FINISHED after a draining stop (savepoint %s)", savepoint);
        recoveries.forEach(r -> log(t0, "  %s", r));
      }

      RunOutputs out = stack.outputs(c);
      ClusterRuns.assertLakeEqualsReference(out, reference);
      assertThat(out.lakeRows())
          .extracting(r -> r.record().get("event_id").toString())
          .as("lake event ids")
          .doesNotHaveDuplicates();
      assertThat(out.warehouse().keySet()).isEqualTo(reference.warehouse.keySet());
      for (String tenant : reference.warehouse.keySet()) {
        assertThat(out.warehouse().get(tenant))
            .as("warehouse rows of %s", tenant)
            .isEqualTo(reference.warehouse.get(tenant));
      }
      assertAuditEqualsReference(out, reference);
      assertQuarantineEqualsReference(stack, out, reference);
      log(t0, "lake, warehouse, audit and quarantine equal the reference");
    }
  }

  /**
   * Per tenant, the audit receipts carry the reference's counts: events in each window, duplicates,
   * quarantined and late changes; one receipt per window, one LATE_EVENT per late change, one
   * QUARANTINE per malformed record, unique event ids and one JOB_START for all attempts.
   */
  private static void assertAuditEqualsReference(RunOutputs out, Reference reference) {
    List<JsonNode> events = out.auditEvents();
    assertThat(events)
        .extracting(e -> e.path("event_id").asText())
        .as("audit event ids")
        .doesNotHaveDuplicates();
    assertThat(events)
        .filteredOn(e -> e.path("type").asText().equals("JOB_START"))
        .as("JOB_START audit events")
        .hasSize(1);
    assertThat(events)
        .filteredOn(e -> e.path("type").asText().equals("QUARANTINE"))
        .as("QUARANTINE audit events")
        .hasSize(reference.malformed.size());
    Map<String, Map<Long, Long>> eventsIn = new TreeMap<>();
    Map<String, Long> receiptsPerWindow = new TreeMap<>();
    Map<String, Long> duplicates = new TreeMap<>();
    Map<String, Long> quarantined = new TreeMap<>();
    Map<String, Long> lateInReceipts = new TreeMap<>();
    Map<String, Long> lateEvents = new TreeMap<>();
    for (JsonNode e : events) {
      String tenant = e.path("tenant_id").asText(null);
      switch (e.path("type").asText()) {
        case "LATE_EVENT" -> lateEvents.merge(tenant, 1L, Long::sum);
        case "WINDOW_RECEIPT" -> {
          long ws = Instant.parse(e.path("window_start").asText()).toEpochMilli();
          receiptsPerWindow.merge(tenant + "@" + Instant.ofEpochMilli(ws), 1L, Long::sum);
          if (e.path("events_in").asLong() > 0) {
            eventsIn
                .computeIfAbsent(tenant, t -> new TreeMap<>())
                .merge(ws, e.path("events_in").asLong(), Long::sum);
          }
          duplicates.merge(tenant, e.path("duplicates_skipped").asLong(), Long::sum);
          quarantined.merge(tenant, e.path("quarantined").asLong(), Long::sum);
          lateInReceipts.merge(tenant, e.path("late_events").asLong(), Long::sum);
        }
        default -> {}
      }
    }
    assertThat(receiptsPerWindow).as("receipts per tenant window").isNotEmpty();
    receiptsPerWindow.forEach(
        (window, n) -> assertThat(n).as("receipts of tenant window %s", window).isEqualTo(1L));
    assertThat(eventsIn.keySet()).isEqualTo(reference.eventsIn.keySet());
    for (String tenant : reference.eventsIn.keySet()) {
      assertThat(eventsIn.get(tenant))
          .as("events in per window in the receipts of %s", tenant)
          .isEqualTo(reference.eventsIn.get(tenant));
    }
    duplicates.values().removeIf(v -> v == 0);
    quarantined.values().removeIf(v -> v == 0);
    lateInReceipts.values().removeIf(v -> v == 0);
    assertThat(duplicates).as("duplicates skipped per tenant").isEqualTo(reference.duplicates);
    assertThat(quarantined).as("quarantined per tenant").isEqualTo(reference.quarantinedWithTenant);
    assertThat(lateInReceipts).as("late changes in receipts per tenant").isEqualTo(reference.late);
    assertThat(lateEvents).as("LATE_EVENT audit events per tenant").isEqualTo(reference.late);
  }

  /** The quarantine topic holds each malformed input record once, with its reason and bytes. */
  private static void assertQuarantineEqualsReference(
      ItStack stack, RunOutputs out, Reference reference) {
    List<String> expected = new ArrayList<>();
    for (GeneratedRecord r : reference.malformed) {
      expected.add(
          r.topic()
              + "|"
              + ((Truth.Malformed) r.truth()).expected()
              + "|"
              + RunOutputs.b64(r.key())
              + "|"
              + RunOutputs.b64(r.value()));
    }
    List<String> actual = new ArrayList<>();
    try (KeyProvider keys = stack.openKeys()) {
      for (JsonNode q : out.quarantineRecords()) {
        actual.add(RunOutputs.quarantineLine(q, keys, "origin_topic", "reason_code"));
      }
    }
    assertThat(actual).as("quarantine").containsExactlyInAnyOrderElementsOf(expected);
  }

  /**
   * Stops the job with a draining savepoint ({@code POST /jobs/:id/stop}, as {@code tenant-export
   * job stop --drain} does) and returns the savepoint's location.
   */
  private static String drain(LocalFlinkCluster flink, String job) throws InterruptedException {
    String trigger =
        flink.post("/jobs/" + job + "/stop", Map.of("drain", true)).path("request-id").asText();
    assertThat(trigger).as("stop request id").isNotEmpty();
    JsonNode[] status = new JsonNode[1];
    await(
        "the draining savepoint",
        () -> {
          status[0] = flink.get("/jobs/" + job + "/savepoints/" + trigger);
          return status[0].path("status").path("id").asText().equals("COMPLETED");
        },
        Duration.ofSeconds(90),
        flink,
        job);
    JsonNode operation = status[0].path("operation");
    assertThat(operation.path("location").asText())
        .as("draining savepoint: %s", operation.path("failure-cause"))
        .isNotEmpty();
    return operation.path("location").asText();
  }

  /** Free slots on the registered TaskManagers other than {@code taskManagers}. */
  private static int freeSlotsBesides(LocalFlinkCluster flink, Set<String> taskManagers) {
    int free = 0;
    for (JsonNode tm : flink.get("/taskmanagers").path("taskmanagers")) {
      if (!taskManagers.contains(tm.path("id").asText())) {
        free += tm.path("freeSlots").asInt();
      }
    }
    return free;
  }

  private static long latestCompleted(LocalFlinkCluster flink, String job) {
    JsonNode completed =
        flink.get("/jobs/" + job + "/checkpoints").path("latest").path("completed");
    return completed.isObject() ? completed.path("id").asLong() : -1;
  }

  private static JsonNode restored(LocalFlinkCluster flink, String job) {
    return flink.get("/jobs/" + job + "/checkpoints").path("latest").path("restored");
  }

  private static long restarts(LocalFlinkCluster flink, String job) {
    for (JsonNode m : flink.get("/jobs/" + job + "/metrics?get=numRestarts")) {
      return m.path("value").asLong();
    }
    return 0;
  }

  /**
   * The job is RUNNING and each of its tasks runs or has finished (the source that announces the
   * job start finishes once it has).
   */
  private static boolean allTasksRunningOrFinished(LocalFlinkCluster flink, String job) {
    JsonNode detail = flink.get("/jobs/" + job);
    if (!detail.path("state").asText().equals("RUNNING")) {
      return false;
    }
    for (JsonNode v : detail.path("vertices")) {
      String s = v.path("status").asText();
      if (!s.equals("RUNNING") && !s.equals("FINISHED")) {
        return false;
      }
    }
    return true;
  }

  private static void await(
      String what, BooleanSupplier done, Duration timeout, LocalFlinkCluster flink, String job)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!done.getAsBoolean()) {
      String state = flink.jobState(job);
      if (state.equals("FAILED") || state.equals("CANCELED")) {
        throw new AssertionError(
            "job "
                + job
                + " is "
                + state
                + " while waiting for "
                + what
                + ": "
                + flink.get("/jobs/" + job + "/exceptions"));
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "no "
                + what
                + " within "
                + timeout
                + "; job "
                + job
                + " is "
                + state
                + "; logs under "
                + flink.configDir().getParent().resolve("log"));
      }
      Thread.sleep(100);
    }
  }

  /**
   * Produces input to the generated topics from its own thread, slices in order, so that input
   * keeps arriving while the test kills and waits. One {@link TenantRouting} for all slices: a
   * duplicate follows its original's partition even when they fall into different slices.
   */
  private static final class Feeder implements AutoCloseable {
    private final ItStack stack;
    private final TenantRouting routing = new TenantRouting();
    private final AtomicInteger produced = new AtomicInteger();
    private volatile boolean held;
    private final ExecutorService thread =
        Executors.newSingleThreadExecutor(r -> new Thread(r, "cluster-failover-feeder"));

    Feeder(ItStack stack) {
      this.stack = stack;
    }

    /** Records acknowledged by Kafka so far. */
    int produced() {
      return produced.get();
    }

    /** Whether the slice streaming now has reached its last batch and waits for its hold. */
    boolean held() {
      return held;
    }

    /** Produces {@code slice} at once, on the calling thread; nothing may be streaming. */
    void produceNow(List<GeneratedRecord> slice) {
      stack.produce(Sources.AS_GENERATED, routing, slice);
      produced.addAndGet(slice.size());
    }

    /**
     * Produces {@code slice} in batches of {@link #BATCH}, {@link #PACE} apart. Its last batch
     * waits for {@code hold} (the kill, which normally comes halfway): however slow the machine,
     * the slice cannot run out before the kill, and some of it arrives after.
     */
    Future<?> stream(List<GeneratedRecord> slice, CountDownLatch hold) {
      Callable<Void> feed =
          () -> {
            held = false;
            for (int from = 0; from < slice.size(); from += BATCH) {
              int to = Math.min(slice.size(), from + BATCH);
              if (to == slice.size() && hold.getCount() > 0) {
                held = true;
                if (!hold.await(5, TimeUnit.MINUTES)) {
                  throw new IllegalStateException("no kill within 5 minutes");
                }
              }
              stack.produce(Sources.AS_GENERATED, routing, slice.subList(from, to));
              produced.addAndGet(to - from);
              Thread.sleep(PACE.toMillis());
            }
            return null;
          };
      return thread.submit(feed);
    }

    @Override
    public void close() {
      thread.shutdownNow();
    }
  }

  private static void log(long t0, String format, Object... args) {
    System.out.printf(
        "ClusterFailoverIT +%5.1fs %s%n",
        (System.nanoTime() - t0) / 1e9, String.format(format, args));
  }
}
