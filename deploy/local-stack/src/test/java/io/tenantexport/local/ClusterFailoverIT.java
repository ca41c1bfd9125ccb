package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.TenantExportJob;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.local.ItStack.Sources;
import io.tenantexport.local.infra.LocalFlinkCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job jar on a real Flink session cluster (a JobManager and two TaskManagers, each its own JVM,
 * configured from {@code deploy/config.yaml}), submitted through the REST API as an operator would:
 * a TaskManager that runs the job is killed with SIGKILL after a completed checkpoint, the job
 * restarts on the survivor from that checkpoint, and the bounded run's outputs are exactly the
 * reference computed from the generator's ground truth, per tenant, in the lake and the warehouse.
 */
class ClusterFailoverIT {
  private static final int RECORDS = 20_000;

  /** Above the input's event-time span: no change is late, whatever the interleaving. */
  private static final String LATENESS = "60m";

  @TempDir Path tmp;

  @Test
  void killingATaskManagerDuringARunChangesNoOutput() throws Exception {
    Path jar = ClusterRuns.jobJar();
    long t0 = System.nanoTime();
    ExportSpec spec = ItStack.spec(LATENESS);
    try (ItStack stack = ItStack.start(tmp, spec, ClusterRuns.POLICIES)) {
      stack.createTopics(Sources.AS_GENERATED);
      List<GeneratedRecord> input =
          new TrafficGenerator(TrafficGenerator.Config.defaults(ItStack.inputStart()))
              .take(RECORDS);
      stack.produce(Sources.AS_GENERATED, new TenantRouting(), input);
      Reference reference = ClusterRuns.reference(stack, spec, input);
      JobConfig c = stack.config("cluster", Sources.AS_GENERATED, true, "1h", stack.writer());
      Path jobYaml = ClusterRuns.writeJobYaml(tmp, c, LATENESS);
      log(t0, "Kafka, PostgreSQL and %d input records ready", RECORDS);

      // Two slots per TaskManager: the job (parallelism 2) fits on the survivor alone.
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
                List.of("--config", jobYaml.toString(), "--kafka.bounded=true"),
                Map.of(
                    "restart-strategy.type", "fixed-delay",
                    "restart-strategy.fixed-delay.attempts", "10",
                    "restart-strategy.fixed-delay.delay", "1 s"));
        await(
            "a completed checkpoint",
            () -> completedCheckpoints(flink, job) >= 1,
            Duration.ofSeconds(60),
            flink,
            job);
        Set<String> running = flink.taskManagersOf(job);
        assertThat(flink.jobState(job))
            .as("the job still runs when the TaskManager dies")
            .isEqualTo("RUNNING");
        int victim = running.contains(LocalFlinkCluster.taskManagerId(1)) ? 1 : 2;
        log(t0, "job %s RUNNING on %s, checkpoint completed; kill -9 tm%d", job, running, victim);

        long killed = System.nanoTime();
        flink.killTaskManager(victim);
        await("a restart", () -> restarts(flink, job) >= 1, Duration.ofSeconds(40), flink, job);
        await(
            "every task running again (or finished)",
            () -> allTasksRunningOrFinished(flink, job),
            Duration.ofSeconds(40),
            flink,
            job);
        log(
            t0,
            "job recovered %d ms after the kill, on %s",
            (System.nanoTime() - killed) / 1_000_000,
            flink.taskManagersOf(job));
        assertThat(flink.taskManagersOf(job))
            .doesNotContain(LocalFlinkCluster.taskManagerId(victim));
        // The replacement machine: registers while the job runs on, and must not disturb it.
        flink.startTaskManager(victim);
        log(t0, "tm%d restarted and registered", victim);

        await(
            "the bounded job to finish",
            () -> flink.jobState(job).equals("FINISHED"),
            Duration.ofSeconds(60),
            flink,
            job);
        log(t0, "job FINISHED");
      }
      RunOutputs out = stack.outputs(c);
      ClusterRuns.assertLakeEqualsReference(out, reference);
      assertThat(out.warehouse().keySet()).isEqualTo(reference.warehouse.keySet());
      for (String tenant : reference.warehouse.keySet()) {
        assertThat(out.warehouse().get(tenant))
            .as("warehouse rows of %s", tenant)
            .isEqualTo(reference.warehouse.get(tenant));
      }
      log(t0, "outputs equal the reference");
    }
  }

  private static long completedCheckpoints(LocalFlinkCluster flink, String job) {
    return flink.get("/jobs/" + job + "/checkpoints").path("counts").path("completed").asLong();
  }

  private static long restarts(LocalFlinkCluster flink, String job) {
    for (JsonNode m : flink.get("/jobs/" + job + "/metrics?get=numRestarts")) {
      return m.path("value").asLong();
    }
    return 0;
  }

  private static boolean allTasksRunningOrFinished(LocalFlinkCluster flink, String job) {
    JsonNode detail = flink.get("/jobs/" + job);
    if (detail.path("state").asText().equals("FINISHED")) {
      return true;
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

  private static void log(long t0, String format, Object... args) {
    System.out.printf(
        "ClusterFailoverIT +%5.1fs %s%n",
        (System.nanoTime() - t0) / 1e9, String.format(format, args));
  }
}
