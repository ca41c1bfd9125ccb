package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.policy.PolicyFolder;
import io.tenantexport.common.policy.Redactor;
import io.tenantexport.common.policy.TenantPolicy;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.jobs.TenantExportJob;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.local.ItStack.Sources;
import io.tenantexport.local.infra.LocalFlinkCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
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

  private static final Path POLICIES = Path.of("../policies");
  private static final Path JOBS_TARGET = Path.of("../../jobs/target");

  @TempDir Path tmp;

  @Test
  void killingATaskManagerDuringARunChangesNoOutput() throws Exception {
    Path jar = jobJar();
    long t0 = System.nanoTime();
    ExportSpec spec = ItStack.spec(LATENESS);
    try (ItStack stack = ItStack.start(tmp, spec, POLICIES)) {
      stack.createTopics(Sources.AS_GENERATED);
      List<GeneratedRecord> input =
          new TrafficGenerator(TrafficGenerator.Config.defaults(ItStack.inputStart()))
              .take(RECORDS);
      stack.produce(Sources.AS_GENERATED, new TenantRouting(), input);
      Reference reference = reference(stack, spec, input);
      JobConfig c = stack.config("cluster", Sources.AS_GENERATED, true, "1h", stack.writer());
      Path jobYaml = writeJobYaml(c, spec);
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
      assertThat(out.lake().keySet()).isEqualTo(reference.lake.keySet());
      for (String tenant : reference.lake.keySet()) {
        assertThat(withoutIds(out, tenant))
            .as("lake rows of %s", tenant)
            .isEqualTo(reference.lake.get(tenant));
      }
      assertThat(out.warehouse().keySet()).isEqualTo(reference.warehouse.keySet());
      for (String tenant : reference.warehouse.keySet()) {
        assertThat(out.warehouse().get(tenant))
            .as("warehouse rows of %s", tenant)
            .isEqualTo(reference.warehouse.get(tenant));
      }
      log(t0, "outputs equal the reference");
    }
  }

  /** The shaded job jar that {@code mvn package} builds in {@code jobs/target}. */
  private static Path jobJar() throws IOException {
    if (Files.isDirectory(JOBS_TARGET)) {
      try (Stream<Path> files = Files.list(JOBS_TARGET)) {
        return files
            .filter(f -> f.getFileName().toString().matches("tenant-export-jobs-.*-job\\.jar"))
            .max(Comparator.comparingLong(f -> f.toFile().lastModified()))
            .orElseThrow(() -> missingJar());
      }
    }
    throw missingJar();
  }

  private static AssertionError missingJar() {
    return new AssertionError(
        "No job jar tenant-export-jobs-*-job.jar in "
            + JOBS_TARGET.toAbsolutePath().normalize()
            + ": build it first (mvn -ntp package -pl jobs -am -DskipTests), or run this test in"
            + " the reactor (mvn verify), where jobs is packaged before local-stack's tests");
  }

  /** The generator's truth, redacted by each tenant's policy as the job must redact it. */
  private static Reference reference(ItStack stack, ExportSpec spec, List<GeneratedRecord> input) {
    Map<TenantId, TenantPolicy> policies = PolicyFolder.load(POLICIES, spec);
    KeyProvider keys = stack.openKeys();
    Redactor redactor = new Redactor(spec, keys);
    return new Reference(
        input,
        spec,
        (tenant, table, image) ->
            redactor.apply(policies.get(TenantId.of(tenant, "reference")), table, image));
  }

  /**
   * A job.yaml as an operator writes one, for the run {@code c} describes (the spec beside it);
   * {@code kafka.bounded} is left to a flag.
   */
  private Path writeJobYaml(JobConfig c, ExportSpec spec) throws IOException {
    Path specFile = tmp.resolve("export-spec.yaml");
    Files.writeString(
        specFile,
        Files.readString(Path.of("../export-spec.yaml"))
            .replaceFirst("allowed_lateness: \\S+", "allowed_lateness: " + LATENESS));
    Map<String, Object> job = new LinkedHashMap<>();
    job.put("name", c.jobName());
    job.put("parallelism", c.parallelism());
    job.put("checkpoint_interval", c.checkpointInterval().toMillis() + "ms");
    job.put("idle_timeout", "1h");
    job.put("orphan_timeout", "1h");
    Map<String, Object> kafka = new LinkedHashMap<>();
    kafka.put("bootstrap_servers", c.bootstrapServers());
    kafka.put("topics", c.topics());
    kafka.put("group_id", c.groupId());
    kafka.put("starting_offsets", "earliest");
    kafka.put("quarantine_topic", c.quarantineTopic());
    kafka.put("audit_topic", c.auditTopic());
    kafka.put("transactional_id_prefix", c.transactionalIdPrefix());
    kafka.put("transaction_timeout", c.transactionTimeout().toSeconds() + "s");
    Map<String, Object> keys = new LinkedHashMap<>(c.keyOptions());
    keys.put("quarantine_key", c.quarantineKeyId());
    Map<String, Object> yaml = new LinkedHashMap<>();
    yaml.put("job", job);
    yaml.put("spec", specFile.getFileName().toString());
    yaml.put("kafka", kafka);
    yaml.put("lake", Map.of("path", c.lakePath()));
    yaml.put("warehouse", Map.of("url", c.warehouseUrl(), "user", c.warehouseUser()));
    yaml.put(
        "policy",
        Map.of(
            "folder",
            POLICIES.toAbsolutePath().normalize().toString(),
            "control_topic",
            c.policyControlTopic()));
    yaml.put("keys", keys);
    Path file = tmp.resolve("job.yaml");
    new YAMLMapper().writeValue(file.toFile(), yaml);
    return file;
  }

  private static List<String> withoutIds(RunOutputs out, String tenant) {
    return out.lakeRows().stream()
        .filter(r -> r.pathTenant().equals(tenant))
        .map(r -> RunOutputs.lakeLine(r.record(), false))
        .sorted()
        .toList();
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
