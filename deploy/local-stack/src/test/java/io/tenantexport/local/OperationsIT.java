package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.cli.TenantExportCli;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.local.ItStack.Sources;
import io.tenantexport.local.infra.LocalFlinkCluster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.Manifest;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's drill on a real Flink session cluster (a JobManager and two TaskManagers, each its
 * own JVM), driven by the {@code tenant-export job} commands in-process, as an operator runs them:
 * deploy, savepoint, upgrade (to a copy of the same jar under another name, with {@code
 * --job.version=v2}), rollback to the first jar from the pre-upgrade savepoint, an upgrade to a
 * broken jar (its manifest names an entry class that does not exist) that rolls back by itself, and
 * a draining stop. The export registry holds exactly one row per step, in order, each step has its
 * OPERATION audit event, and every tenant's lake rows equal the reference: nothing lost or doubled
 * across the upgrade and the rollbacks.
 *
 * <p>All input is produced and read (offsets committed) before the first savepoint, so restoring
 * the pre-upgrade savepoint re-reads nothing; what a rollback re-reads otherwise is described in
 * {@code JobRollbackCommand}.
 */
class OperationsIT {
  private static final int RECORDS = 10_000;
  private static final String LATENESS = "60m";
  private static final String OPERATOR = "ops_cli";
  private static final String OPERATOR_PASSWORD = "operator-secret-for-the-test";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Kept when the test fails: the cluster's logs are under {@code flink/log}. */
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  private record Result(int status, String out, String err) {
    String lastLine() {
      List<String> lines = out.lines().toList();
      return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }
  }

  @Test
  void deployUpgradeRollbackAndAutomaticRollbackLoseAndDoubleNothing() throws Exception {
    long t0 = System.nanoTime();
    Path built = ClusterRuns.jobJar();
    Path v1 = Files.copy(built, tmp.resolve("tenant-export-jobs-v1-job.jar"));
    Path v2 = Files.copy(built, tmp.resolve("tenant-export-jobs-v2-job.jar"));
    Path broken = brokenCopy(built, tmp.resolve("tenant-export-jobs-broken-job.jar"));
    ExportSpec spec = ItStack.spec(LATENESS);
    try (ItStack stack = ItStack.start(tmp, spec, ClusterRuns.POLICIES)) {
      stack.createTopics(Sources.AS_GENERATED);
      List<GeneratedRecord> input =
          new TrafficGenerator(TrafficGenerator.Config.defaults(ItStack.inputStart()))
              .take(RECORDS);
      stack.produce(Sources.AS_GENERATED, new TenantRouting(), input);
      Reference reference = ClusterRuns.reference(stack, spec, input);
      JobConfig c = stack.config("ops", Sources.AS_GENERATED, false, "1h", stack.writer());
      Path jobYaml = ClusterRuns.writeJobYaml(tmp, c, LATENESS);
      try (Connection su = stack.warehouse().connect();
          Statement s = su.createStatement()) {
        s.execute("CREATE ROLE " + OPERATOR + " LOGIN PASSWORD '" + OPERATOR_PASSWORD + "'");
        s.execute("GRANT tenant_export_operator TO " + OPERATOR);
      }
      log(t0, "Kafka, PostgreSQL, %d input records and the jars ready", RECORDS);

      List<String> jobs = new ArrayList<>();
      try (LocalFlinkCluster flink =
          LocalFlinkCluster.start(
              tmp.resolve("flink"),
              2,
              2,
              Map.of(JobConfig.PASSWORD_ENV, stack.writer().password()))) {
        log(t0, "cluster up at %s", flink.restUrl());
        List<String> common =
            List.of(
                "--rest",
                flink.restUrl(),
                "--config",
                jobYaml.toString(),
                "--registry-user",
                OPERATOR,
                "--timeout",
                "60s");

        Result deploy = cli(t0, common, "job", "deploy", "--jar", v1.toString());
        assertThat(deploy.status()).as(deploy.err()).isZero();
        jobs.add(jobOf(deploy));
        assertThat(flink.jobState(jobs.get(0))).isEqualTo("RUNNING");
        stack.awaitCommitted(c);
        log(t0, "deployed job %s; every input offset committed", jobs.get(0));

        Result status = cli(t0, common, "job", "status");
        assertThat(status.status()).as(status.err()).isZero();
        assertThat(status.out())
            .contains("job " + jobs.get(0) + " RUNNING")
            .contains("last completed checkpoint")
            .contains("registry: current job " + jobs.get(0) + " (RUNNING)");

        Result savepoint = cli(t0, common, "job", "savepoint");
        assertThat(savepoint.status()).as(savepoint.err()).isZero();
        assertThat(savepoint.lastLine()).contains("savepoint");

        Result upgrade =
            cli(t0, common, "job", "upgrade", "--jar", v2.toString(), "--job.version=v2");
        assertThat(upgrade.status()).as(upgrade.err()).isZero();
        jobs.add(jobOf(upgrade));
        String preUpgrade = restoredFrom(flink, jobs.get(1));
        assertThat(flink.jobState(jobs.get(0))).isEqualTo("FINISHED");
        assertThat(flink.jobState(jobs.get(1))).isEqualTo("RUNNING");

        Result rollback = cli(t0, common, "job", "rollback");
        assertThat(rollback.status()).as(rollback.err()).isZero();
        jobs.add(jobOf(rollback));
        assertThat(restoredFrom(flink, jobs.get(2))).isEqualTo(preUpgrade);
        assertThat(flink.jobState(jobs.get(1))).isEqualTo("FINISHED");

        Result bad = cli(t0, common, "job", "upgrade", "--jar", broken.toString());
        assertThat(bad.status()).as(bad.out()).isEqualTo(TenantExportCli.FAILED);
        assertThat(bad.err()).contains("upgrade to tenant-export-jobs-broken-job.jar");
        jobs.add(jobOf(bad));
        assertThat(flink.jobState(jobs.get(3))).isEqualTo("RUNNING");
        String beforeBroken = restoredFrom(flink, jobs.get(3));

        Result stop = cli(t0, common, "job", "stop", "--drain");
        assertThat(stop.status()).as(stop.err()).isZero();
        assertThat(flink.jobState(jobs.get(3))).isEqualTo("FINISHED");

        List<String> registry = registryRows(stack);
        String v1Jar = "tenant-export-jobs-v1-job.jar";
        String v2Jar = "tenant-export-jobs-v2-job.jar";
        String brokenJar = "tenant-export-jobs-broken-job.jar";
        String v = c.jobVersion();
        assertThat(registry)
            .containsExactly(
                "deploy|ok|" + jobs.get(0) + "|" + v1Jar + "|" + v + "|-",
                "savepoint|ok|" + jobs.get(0) + "|" + v1Jar + "|" + v + "|" + savepoint.lastLine(),
                "upgrade|ok|" + jobs.get(1) + "|" + v2Jar + "|v2|" + preUpgrade,
                "rollback|ok|" + jobs.get(2) + "|" + v1Jar + "|" + v + "|" + preUpgrade,
                "upgrade|failed|-|" + brokenJar + "|" + v + "|" + beforeBroken,
                "rollback-auto|ok|" + jobs.get(3) + "|" + v1Jar + "|" + v + "|" + beforeBroken,
                "stop|ok|" + jobs.get(3) + "|" + v1Jar + "|" + v + "|" + stop.lastLine());
        log(t0, "registry:%n  %s", String.join("\n  ", registry));
        appendOnly(stack);

        List<String> operations = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r :
            stack.kafka().readAll(c.auditTopic(), true, java.time.Duration.ofSeconds(30))) {
          JsonNode e = JSON.readTree(r.value());
          if (e.path("type").asText().equals("OPERATION")) {
            String[] reason = e.path("reason").asText().split(" ");
            operations.add(
                e.path("origin").asText()
                    + " "
                    + reason[0]
                    + " "
                    + reason[1].replaceAll("[:,;]$", ""));
          }
        }
        assertThat(operations)
            .containsExactly(
                "export_registry#1 deploy ok",
                "export_registry#2 savepoint ok",
                "export_registry#3 upgrade ok",
                "export_registry#4 rollback ok",
                "export_registry#5 upgrade failed",
                "export_registry#6 rollback-auto ok",
                "export_registry#7 stop ok");
      }
      RunOutputs out = stack.outputs(c);
      ClusterRuns.assertLakeEqualsReference(out, reference);
      log(t0, "lake rows equal the reference for %d tenants", reference.lake.size());
    }
    List<String> survivors =
        ProcessHandle.current()
            .descendants()
            .filter(ProcessHandle::isAlive)
            .map(p -> p.pid() + " " + p.info().commandLine().orElse("?"))
            .filter(l -> l.contains("java"))
            .toList();
    assertThat(survivors).as("child JVMs still alive").isEmpty();
    log(t0, "done; no child JVM left");
  }

  private Result cli(long t0, List<String> common, String... command) {
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
            Map.of(JobConfig.PASSWORD_ENV, OPERATOR_PASSWORD));
    Result r =
        new Result(
            status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    log(
        t0,
        "tenant-export %s %s -> %d in %d ms%n%s%s",
        command[0],
        command[1],
        status,
        (System.nanoTime() - start) / 1_000_000,
        r.out().indent(4),
        r.err().indent(4));
    return r;
  }

  /** The job a command's output says it submitted last. */
  private static String jobOf(Result r) {
    String job = null;
    for (String line : r.out().lines().toList()) {
      if (line.startsWith("submitted job ")) {
        job = line.substring("submitted job ".length()).trim();
      }
    }
    assertThat(job).as("a submitted job in %s", r.out()).isNotNull();
    return job;
  }

  private static String restoredFrom(LocalFlinkCluster flink, String job) {
    return flink
        .get("/jobs/" + job + "/checkpoints")
        .path("latest")
        .path("restored")
        .path("external_path")
        .asText();
  }

  /** Each registry row as {@code action|outcome|job|jar file|job version|savepoint}. */
  private static List<String> registryRows(ItStack stack) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Connection c =
            DriverManager.getConnection(stack.warehouse().jdbcUrl(), OPERATOR, OPERATOR_PASSWORD);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT action, outcome, job_id, jar, job_version, savepoint_path"
                    + " FROM tenant_export.export_registry ORDER BY id")) {
      while (rs.next()) {
        rows.add(
            String.join(
                "|",
                rs.getString(1),
                rs.getString(2),
                orDash(rs.getString(3)),
                rs.getString(4).split(" ")[0],
                rs.getString(5),
                orDash(rs.getString(6))));
      }
    }
    return rows;
  }

  /** Neither the operator nor the owner can change a row; the job's writer cannot read them. */
  private static void appendOnly(ItStack stack) throws SQLException {
    try (Connection c =
            DriverManager.getConnection(stack.warehouse().jdbcUrl(), OPERATOR, OPERATOR_PASSWORD);
        Statement s = c.createStatement()) {
      assertThatThrownBy(() -> s.execute("UPDATE tenant_export.export_registry SET detail = 'x'"))
          .hasMessageContaining("permission denied");
      assertThatThrownBy(() -> s.execute("DELETE FROM tenant_export.export_registry"))
          .hasMessageContaining("permission denied");
    }
    try (Connection c =
            DriverManager.getConnection(
                stack.warehouse().jdbcUrl(), stack.writer().user(), stack.writer().password());
        Statement s = c.createStatement()) {
      assertThatThrownBy(() -> s.executeQuery("SELECT * FROM tenant_export.export_registry"))
          .hasMessageContaining("permission denied");
    }
    try (Connection c = stack.warehouse().connect();
        Statement s = c.createStatement()) {
      assertThatThrownBy(() -> s.execute("DELETE FROM tenant_export.export_registry"))
          .hasMessageContaining("append-only");
      assertThatThrownBy(() -> s.execute("TRUNCATE tenant_export.export_registry"))
          .hasMessageContaining("append-only");
    }
  }

  private static String orDash(String s) {
    return s == null ? "-" : s;
  }

  /**
   * A copy of the job jar whose manifest names an entry class that does not exist: Flink refuses to
   * run it, every time, before anything starts.
   */
  private static Path brokenCopy(Path jar, Path target) throws IOException {
    Files.copy(jar, target);
    try (FileSystem zip = FileSystems.newFileSystem(target)) {
      Path entry = zip.getPath("META-INF/MANIFEST.MF");
      Manifest manifest;
      try (var in = Files.newInputStream(entry)) {
        manifest = new Manifest(in);
      }
      manifest
          .getMainAttributes()
          .put(Attributes.Name.MAIN_CLASS, "io.tenantexport.jobs.NoSuchJob");
      try (var out = Files.newOutputStream(entry)) {
        manifest.write(out);
      }
    }
    return target;
  }

  private static void log(long t0, String format, Object... args) {
    System.out.printf(
        "OperationsIT +%5.1fs %s%n", (System.nanoTime() - t0) / 1e9, String.format(format, args));
  }
}
