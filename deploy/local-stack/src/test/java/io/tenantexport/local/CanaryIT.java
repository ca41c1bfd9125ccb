package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.cli.TenantExportCli;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.local.ClusterRuns.CliResult;
import io.tenantexport.local.ItStack.Sources;
import io.tenantexport.local.infra.LocalFlinkCluster;
import io.tenantexport.local.inspect.LakeFiles;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The canary drill on a real Flink session cluster (a JobManager and two TaskManagers, each its own
 * JVM), driven by the {@code tenant-export} commands in-process: the live job is deployed and has
 * exported every window of the input; a canary of an identical jar (a copy under another name) for
 * three tenants recomputes their history into the shadow namespace and {@code reconcile} finds
 * every one of their live windows equal; a second canary whose candidate spec computes one metric
 * differently ({@code page_view_duration_ms} as a max instead of a sum) is caught: exit status 1,
 * and the report names that metric and nothing else. Throughout, the live rows, live lake files and
 * live audit events stay exactly as they were, and no other tenant reaches the shadow.
 *
 * <p>Windows close here by the idle timeout (10 s): the allowed lateness (60 m) exceeds the input's
 * event-time span, so which change is late cannot depend on the order in which a job reads the
 * topics, and a canary reading the backlog closes exactly the windows the live job closed.
 */
class CanaryIT {
  private static final int RECORDS = 6_000;

  /** About six minutes of event time: several windows per tenant, all within the lateness. */
  private static final Duration MEAN_GAP = Duration.ofMillis(60);

  private static final String LATENESS = "60m";
  private static final String IDLE = "10s";
  private static final List<String> CANARY_TENANTS = List.of("t00-acme", "t01-globex", "t05-stark");
  private static final String CHANGED_METRIC = "page_view_duration_ms";
  private static final String OPERATOR = "ops_cli";
  private static final String IT = "CanaryIT";
  private static final String OPERATOR_PASSWORD = "operator-secret-for-the-test";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern TENANT_LINE =
      Pattern.compile("tenant (\\S+): (\\d+) windows compared, (\\d+) equal, (\\d+) differing");

  /** Kept when the test fails: the cluster's logs are under {@code flink/log}. */
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  /** What a canary must never change: live rows as stored, live lake files, live audit events. */
  private record Live(List<String> rows, Map<String, Long> lakeFiles, List<String> auditEvents) {}

  @Test
  void identicalCanaryReconcilesCleanAndAChangedMetricIsCaught() throws Exception {
    long t0 = System.nanoTime();
    Path built = ClusterRuns.jobJar();
    Path liveJar = Files.copy(built, tmp.resolve("tenant-export-jobs-live-job.jar"));
    Path candidate = Files.copy(built, tmp.resolve("tenant-export-jobs-candidate-job.jar"));
    ExportSpec spec = ItStack.spec(LATENESS);
    try (ItStack stack = ItStack.start(tmp, spec, ClusterRuns.POLICIES)) {
      stack.createTopics(Sources.AS_GENERATED);
      List<GeneratedRecord> input =
          new TrafficGenerator(
                  TrafficGenerator.Config.builder(ItStack.inputStart()).meanGap(MEAN_GAP).build())
              .take(RECORDS);
      stack.produce(Sources.AS_GENERATED, new TenantRouting(), input);
      Reference reference = ClusterRuns.reference(stack, spec, input);
      JobConfig c = stack.config("canary", Sources.AS_GENERATED, false, "1h", stack.writer());
      Path jobYaml = ClusterRuns.writeJobYaml(tmp, c, LATENESS);
      Path changedSpec = changedSpec(tmp.resolve("export-spec.yaml"), tmp);
      try (Connection su = stack.warehouse().connect();
          Statement s = su.createStatement()) {
        s.execute("CREATE ROLE " + OPERATOR + " LOGIN PASSWORD '" + OPERATOR_PASSWORD + "'");
        s.execute("GRANT tenant_export_operator TO " + OPERATOR);
      }
      Path liveLake = Path.of(URI.create(c.lakePath()));
      Path shadowLakes = liveLake.resolve("_shadow");
      log(t0, "Kafka, PostgreSQL, %d input records and the jars ready", RECORDS);

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
                "90s");

        CliResult deploy =
            cli(
                t0,
                common,
                "job",
                "deploy",
                "--jar",
                liveJar.toString(),
                "--job.idle_timeout=" + IDLE);
        assertThat(deploy.status()).as(deploy.err()).isZero();
        String liveJob = jobOf(deploy);
        stack.awaitCommitted(c);
        int expectedRows = reference.warehouse.values().stream().mapToInt(List::size).sum();
        awaitLiveRows(stack, expectedRows);
        Map<String, Integer> liveWindows = liveWindowsPerTenant(stack);
        assertThat(liveWindows.keySet()).containsAll(CANARY_TENANTS);
        List<String> liveLakeOfCanaryTenants =
            LakeFiles.readAll(liveLake).stream()
                .filter(r -> CANARY_TENANTS.contains(r.pathTenant()))
                .map(r -> RunOutputs.lakeLine(r.record(), true))
                .sorted()
                .toList();
        assertThat(liveLakeOfCanaryTenants).isNotEmpty();
        Live before = live(stack, liveLake, c);
        log(t0, "live job %s exported all %d rows of the reference", liveJob, expectedRows);

        String tenants = String.join(",", CANARY_TENANTS);
        CliResult start =
            cli(t0, common, "canary", "start", "--jar", candidate.toString(), "--tenants", tenants);
        assertThat(start.status()).as(start.err()).isZero();
        String canary1 = jobOf(start);
        CliResult second =
            cli(t0, common, "canary", "start", "--jar", candidate.toString(), "--tenants", tenants);
        assertThat(second.status()).as(second.out()).isEqualTo(TenantExportCli.FAILED);
        assertThat(second.err()).contains("canary job " + canary1).contains("stop it first");
        CliResult clean = cli(t0, common, "reconcile");
        assertThat(clean.status()).as(clean.out() + clean.err()).isZero();
        Map<String, int[]> counts = tenantLines(clean.out());
        assertThat(counts.keySet()).containsExactlyElementsOf(CANARY_TENANTS);
        int compared = 0;
        for (String t : CANARY_TENANTS) {
          // Every live window of the tenant was compared and found equal: not a vacuous pass.
          assertThat(counts.get(t))
              .as("windows compared, equal, differing of %s", t)
              .containsExactly(liveWindows.get(t), liveWindows.get(t), 0);
          compared += liveWindows.get(t);
        }
        assertThat(compared).isPositive();
        assertThat(clean.out())
            .contains("reconcile: CLEAN: " + compared + " windows of 3 tenant(s) compared")
            .doesNotContain("not compared");
        Path firstPrefix = onlyChild(shadowLakes);
        List<String> shadowLake =
            LakeFiles.readAll(firstPrefix).stream()
                .map(r -> RunOutputs.lakeLine(r.record(), true))
                .sorted()
                .toList();
        // The canary's lake rows, event ids included, are the live rows of its tenants.
        assertThat(shadowLake).isEqualTo(liveLakeOfCanaryTenants);

        CliResult stop = cli(t0, common, "canary", "stop");
        assertThat(stop.status()).as(stop.err()).isZero();
        assertThat(flink.jobState(canary1)).isEqualTo("CANCELED");

        CliResult changed =
            cli(
                t0,
                common,
                "canary",
                "start",
                "--jar",
                candidate.toString(),
                "--tenants",
                tenants,
                "--spec=" + changedSpec);
        assertThat(changed.status()).as(changed.err()).isZero();
        String canary2 = jobOf(changed);
        assertThat(firstPrefix).as("the first canary's lake prefix is cleared").doesNotExist();
        CliResult caught = cli(t0, common, "reconcile");
        assertThat(caught.status())
            .as(caught.out() + caught.err())
            .isEqualTo(TenantExportCli.FAILED);
        assertThat(caught.out()).contains("reconcile: MISMATCH: ");
        List<String> metricLines =
            caught.out().lines().filter(l -> l.startsWith("    metric ")).toList();
        List<String> rowLines = caught.out().lines().filter(l -> l.startsWith("    row ")).toList();
        assertThat(metricLines)
            .isNotEmpty()
            .allMatch(l -> l.contains(CHANGED_METRIC + " (page_views)"));
        assertThat(rowLines).isNotEmpty().allMatch(l -> l.contains(" " + CHANGED_METRIC + " {"));
        Map<String, int[]> caughtCounts = tenantLines(caught.out());
        assertThat(caughtCounts.values().stream().mapToInt(n -> n[2]).sum()).isPositive();
        assertThat(caught.out())
            .containsPattern("window \\d{4}-\\d{2}-\\d{2}T\\S+: live \\d+ rows checksum");
        CliResult stop2 = cli(t0, common, "canary", "stop");
        assertThat(stop2.status()).as(stop2.err()).isZero();
        assertThat(flink.jobState(canary2)).isEqualTo("CANCELED");

        assertThat(flink.jobState(liveJob)).isEqualTo("RUNNING");
        Live after = live(stack, liveLake, c);
        assertThat(after.rows()).as("live rows, exported_at included").isEqualTo(before.rows());
        assertThat(after.lakeFiles()).as("live lake files").isEqualTo(before.lakeFiles());
        assertThat(after.auditEvents()).as("live audit events").isEqualTo(before.auditEvents());
        assertThat(shadowTenants(stack)).containsExactlyElementsOf(CANARY_TENANTS);
        Set<String> shadowAuditTenants = new TreeSet<>();
        for (JsonNode e : json(stack, c.auditTopic() + ".shadow")) {
          if (!e.path("tenant_id").isNull() && !e.path("tenant_id").isMissingNode()) {
            shadowAuditTenants.add(e.path("tenant_id").asText());
          }
        }
        assertThat(shadowAuditTenants).isNotEmpty().isSubsetOf(CANARY_TENANTS);
        assertThat(registry(stack))
            .containsExactly(
                "deploy|ok|" + liveJob,
                "canary|ok|" + canary1,
                "reconcile|ok|" + canary1,
                "canary-stop|ok|" + canary1,
                "canary|ok|" + canary2,
                "reconcile|failed|" + canary2,
                "canary-stop|ok|" + canary2);
        log(t0, "live outputs untouched; shadow holds only %s", CANARY_TENANTS);
      }
    }
    log(t0, "done");
  }

  /** The deployed spec with page_view_duration_ms as a max of duration_ms instead of a sum. */
  private static Path changedSpec(Path spec, Path dir) throws IOException {
    String text = Files.readString(spec);
    String sum = "{name: " + CHANGED_METRIC + ", type: sum, column: duration_ms}";
    assertThat(text).contains(sum);
    Path changed = dir.resolve("candidate-spec.yaml");
    Files.writeString(
        changed,
        text.replace(sum, "{name: " + CHANGED_METRIC + ", type: max, column: duration_ms}"));
    return changed;
  }

  /** Waits until the live table holds the reference's number of rows: every window exported. */
  private static void awaitLiveRows(ItStack stack, int expected) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    long n;
    while ((n = count(stack, "SELECT count(*) FROM tenant_export.metric_rollup")) != expected) {
      assertThat(System.nanoTime())
          .as("live rows %d, reference %d, after 90 s", n, expected)
          .isLessThan(deadline);
      Thread.sleep(500);
    }
  }

  private static long count(ItStack stack, String sql) throws SQLException {
    try (Connection c = stack.warehouse().connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static Map<String, Integer> liveWindowsPerTenant(ItStack stack) throws SQLException {
    Map<String, Integer> windows = new TreeMap<>();
    try (Connection c = stack.warehouse().connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT tenant_id, count(DISTINCT window_start) FROM tenant_export.metric_rollup"
                    + " GROUP BY tenant_id")) {
      while (rs.next()) {
        windows.put(rs.getString(1), rs.getInt(2));
      }
    }
    return windows;
  }

  private static Set<String> shadowTenants(ItStack stack) throws SQLException {
    Set<String> tenants = new TreeSet<>();
    try (Connection c = stack.warehouse().connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT DISTINCT tenant_id FROM tenant_export_shadow.metric_rollup")) {
      while (rs.next()) {
        tenants.add(rs.getString(1));
      }
    }
    return tenants;
  }

  /** The live outputs as they are: every column of every row, committed files, audit events. */
  private static Live live(ItStack stack, Path liveLake, JobConfig c) throws Exception {
    List<String> rows = new ArrayList<>();
    try (Connection conn = stack.warehouse().connect();
        Statement s = conn.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT r::text FROM tenant_export.metric_rollup r"
                    + " ORDER BY tenant_id, metric, dimensions, window_start")) {
      while (rs.next()) {
        rows.add(rs.getString(1));
      }
    }
    Map<String, Long> files = new TreeMap<>();
    for (Path f : LakeFiles.allFiles(liveLake)) {
      String rel = liveLake.relativize(f).toString();
      if (!rel.startsWith("_shadow")) {
        files.put(rel, Files.size(f));
      }
    }
    List<String> audit = new ArrayList<>();
    for (JsonNode e : json(stack, c.auditTopic())) {
      // The CLI's own OPERATION events are meant for the live audit topic.
      if (!e.path("type").asText().equals("OPERATION")) {
        audit.add(e.toString());
      }
    }
    return new Live(rows, files, audit);
  }

  private static List<JsonNode> json(ItStack stack, String topic) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r :
        stack.kafka().readAll(topic, true, Duration.ofSeconds(30))) {
      out.add(JSON.readTree(r.value()));
    }
    return out;
  }

  /** Each registry row as {@code action|outcome|job}. */
  private static List<String> registry(ItStack stack) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Connection c =
            DriverManager.getConnection(stack.warehouse().jdbcUrl(), OPERATOR, OPERATOR_PASSWORD);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT action, outcome, job_id FROM tenant_export.export_registry ORDER BY id")) {
      while (rs.next()) {
        rows.add(rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getString(3));
      }
    }
    return rows;
  }

  /** Per tenant line of a reconcile report: windows compared, equal, differing. */
  private static Map<String, int[]> tenantLines(String report) {
    Map<String, int[]> counts = new TreeMap<>();
    Matcher m = TENANT_LINE.matcher(report);
    while (m.find()) {
      counts.put(
          m.group(1),
          new int[] {
            Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4))
          });
    }
    return counts;
  }

  private static Path onlyChild(Path dir) throws IOException {
    try (Stream<Path> children = Files.list(dir)) {
      List<Path> all = children.toList();
      assertThat(all).as("canary lake prefixes under %s", dir).hasSize(1);
      return all.get(0);
    }
  }

  private static CliResult cli(long t0, List<String> common, String... command) {
    return ClusterRuns.cli(IT, t0, OPERATOR_PASSWORD, common, command);
  }

  /** The job a command's output says it submitted last. */
  private static String jobOf(CliResult r) {
    String job = null;
    for (String line : r.out().lines().toList()) {
      if (line.startsWith("submitted job ")) {
        job = line.substring("submitted job ".length()).trim();
      }
    }
    assertThat(job).as("a submitted job in %s", r.out()).isNotNull();
    return job;
  }

  private static void log(long t0, String format, Object... args) {
    System.out.printf(
        "CanaryIT +%5.1fs %s%n", (System.nanoTime() - t0) / 1e9, String.format(format, args));
  }
}
