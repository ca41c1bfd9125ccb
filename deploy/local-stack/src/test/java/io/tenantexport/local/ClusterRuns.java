package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.policy.PolicyFolder;
import io.tenantexport.common.policy.Redactor;
import io.tenantexport.common.policy.TenantPolicy;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.jobs.cli.TenantExportCli;
import io.tenantexport.jobs.config.JobConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What the tests on the multi-process Flink cluster share: the job jar they submit, the job.yaml an
 * operator would write for a run, the reference the outputs must equal, and that comparison.
 */
final class ClusterRuns {
  static final Path POLICIES = Path.of("../policies");
  private static final Path JOBS_TARGET = Path.of("../../jobs/target");

  private ClusterRuns() {}

  /** The shaded job jar that {@code mvn package} builds in {@code jobs/target}. */
  static Path jobJar() throws IOException {
    if (Files.isDirectory(JOBS_TARGET)) {
      try (Stream<Path> files = Files.list(JOBS_TARGET)) {
        return files
            .filter(f -> f.getFileName().toString().matches("tenant-export-jobs-.*-job\\.jar"))
            .max(Comparator.comparingLong(f -> f.toFile().lastModified()))
            .orElseThrow(ClusterRuns::missingJar);
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
  static Reference reference(ItStack stack, ExportSpec spec, List<GeneratedRecord> input) {
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
   * A job.yaml in {@code dir} as an operator writes one, for the run {@code c} describes (the spec,
   * with {@code lateness}, beside it); {@code kafka.bounded} is left to a flag.
   */
  static Path writeJobYaml(Path dir, JobConfig c, String lateness) throws IOException {
    Path specFile = dir.resolve("export-spec.yaml");
    Files.writeString(
        specFile,
        Files.readString(Path.of("../export-spec.yaml"))
            .replaceFirst("allowed_lateness: \\S+", "allowed_lateness: " + lateness));
    Map<String, Object> job = new LinkedHashMap<>();
    job.put("name", c.jobName());
    job.put("parallelism", c.parallelism());
    job.put("checkpoint_interval", c.checkpointInterval().toMillis() + "ms");
    job.put("checkpoint_timeout", c.checkpointTimeout().toSeconds() + "s");
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
    yaml.put(
        "lake", Map.of("path", c.lakePath(), "max_file_age", c.lakeMaxFileAge().toMillis() + "ms"));
    yaml.put("warehouse", Map.of("url", c.warehouseUrl(), "user", c.warehouseUser()));
    yaml.put(
        "policy",
        Map.of(
            "folder",
            POLICIES.toAbsolutePath().normalize().toString(),
            "control_topic",
            c.policyControlTopic()));
    yaml.put("keys", keys);
    Path file = dir.resolve("job.yaml");
    new YAMLMapper().writeValue(file.toFile(), yaml);
    return file;
  }

  /** Every tenant's lake rows, ids aside, equal the reference's: none lost, none doubled. */
  static void assertLakeEqualsReference(RunOutputs out, Reference reference) {
    assertThat(out.lake().keySet()).isEqualTo(reference.lake.keySet());
    for (String tenant : reference.lake.keySet()) {
      assertThat(withoutIds(out, tenant))
          .as("lake rows of %s", tenant)
          .isEqualTo(reference.lake.get(tenant));
    }
  }

  private static List<String> withoutIds(RunOutputs out, String tenant) {
    return out.lakeRows().stream()
        .filter(r -> r.pathTenant().equals(tenant))
        .map(r -> RunOutputs.lakeLine(r.record(), false))
        .sorted()
        .toList();
  }

  /** What an in-process run of the operators' CLI printed, and its exit status. */
  record CliResult(int status, String out, String err) {
    String lastLine() {
      List<String> lines = out.lines().toList();
      return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }
  }

  /**
   * Runs {@code tenant-export <command> <common>} in-process, as an operator runs it, with the
   * registry login's password in the environment, and logs the command, its status and its output
   * under {@code it} (the test's name) with the seconds since {@code t0}.
   */
  static CliResult cli(
      String it, long t0, String password, List<String> common, String... command) {
    List<String> argv = new ArrayList<>(List.of(command));
    argv.addAll(common);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    long start = System.nanoTime();
    int status =
        TenantExportCli.run(
            argv.toArray(String[]::new),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            Map.of(JobConfig.PASSWORD_ENV, password));
    CliResult r =
        new CliResult(
            status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    System.out.printf(
        "%s +%5.1fs tenant-export %s -> %d in %d ms%n%s%s%n",
        it,
        (System.nanoTime() - t0) / 1e9,
        String.join(" ", List.of(command).subList(0, Math.min(2, command.length))),
        status,
        (System.nanoTime() - start) / 1_000_000,
        r.out().indent(4),
        r.err().indent(4));
    return r;
  }
}
