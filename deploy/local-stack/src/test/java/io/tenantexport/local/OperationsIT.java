package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.gen.Truth;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.cli.TenantExportCli;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.local.ClusterRuns.CliResult;
import io.tenantexport.local.ItStack.Sources;
import io.tenantexport.local.infra.LocalFlinkCluster;
import io.tenantexport.local.inspect.LakeFiles;
import io.tenantexport.local.v2.ChangesPerWindow;
import io.tenantexport.local.v2.CheckpointFailingJob;
import io.tenantexport.local.v2.TenantExportJobV2;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.Manifest;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's drill on a real Flink session cluster (a JobManager and two TaskManagers, each its
 * own JVM), driven by the {@code tenant-export job} commands in-process, as an operator runs them,
 * with input arriving in slices between the steps:
 *
 * <ol>
 *   <li>slice 1; deploy v1 (the job jar); slice 2 while v1 runs; savepoint;
 *   <li>upgrade to v2 ({@link TenantExportJobV2}: the job jar plus an operator, uid and metric that
 *       exist only in v2, run with {@code --job.version=v2} and the next export version); slice 3
 *       while v2 runs, which v2 exports with its metric ({@code <table>.changes_applied} rows are
 *       awaited in the warehouse, and its {@code part-v<v2>} files in the lake);
 *   <li>rollback to v1 from the pre-upgrade savepoint: v2's warehouse rows move to {@code
 *       metric_rollup_retracted}, its lake files to {@code _retracted/}, and v1 reads slice 3
 *       again;
 *   <li>slice 4; an upgrade to a jar Flink refuses (its entry class does not exist) and one to a
 *       jar that starts and then fails on every checkpoint ({@link CheckpointFailingJob}): both
 *       roll back to v1 by themselves; a draining stop.
 * </ol>
 *
 * <p>The export registry holds one row per step, in order, each with its OPERATION audit event; no
 * job was submitted with allowNonRestoredState (the CLI talks to Flink through a proxy that records
 * every submission). The outputs are those of an uninterrupted v1 run: every tenant's lake rows,
 * warehouse rows and receipts equal the {@link Reference}, which is what one v1 job reading all
 * four slices exports. It is exact, not an approximation: the lateness (60m) exceeds the input's
 * event-time span, so no window closes before the final drain and no change is late but the
 * generator's deliberately late ones (2h behind), whatever the interleaving; the cluster tests
 * ({@code ClusterFailoverIT}, {@code EndToEndExportIT}) compare a real uninterrupted run with the
 * same reference. What the drill adds is that the upgraded job's outputs are gone (nothing doubled
 * in the lake, no row of v2's export version in the warehouse) and that only v1's export version
 * remains, with each receipt once.
 */
class OperationsIT {
  private static final int RECORDS = 12_000;
  private static final int SLICES = 4;
  private static final String LATENESS = "60m";
  private static final String OPERATOR = "ops_cli";
  private static final String IT = "OperationsIT";
  private static final String OPERATOR_PASSWORD = "operator-secret-for-the-test";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path V2_CLASSES =
      Path.of("target/test-classes/" + TenantExportJobV2.class.getPackageName().replace('.', '/'));

  /** Kept when the test fails: the cluster's logs are under {@code flink/log}. */
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  @Test
  void upgradeRollbackAndAutomaticRollbacksEndWithTheOutputsOfAnUninterruptedRun()
      throws Exception {
    long t0 = System.nanoTime();
    Path built = ClusterRuns.jobJar();
    Path v1 = Files.copy(built, tmp.resolve("tenant-export-jobs-v1-job.jar"));
    Path v2 = withV2(built, tmp.resolve("tenant-export-jobs-v2-job.jar"), TenantExportJobV2.class);
    Path failing =
        withV2(
            built,
            tmp.resolve("tenant-export-jobs-v2-failing-job.jar"),
            CheckpointFailingJob.class);
    Path broken = brokenCopy(built, tmp.resolve("tenant-export-jobs-broken-job.jar"));
    ExportSpec spec = ItStack.spec(LATENESS);
    int v1Export = spec.version();
    int v2Export = v1Export + 1;
    int failingExport = v1Export + 2;
    try (ItStack stack = ItStack.start(tmp, spec, ClusterRuns.POLICIES)) {
      stack.createTopics(Sources.AS_GENERATED);
      List<GeneratedRecord> input =
          new TrafficGenerator(TrafficGenerator.Config.defaults(ItStack.inputStart()))
              .take(RECORDS);
      List<List<GeneratedRecord>> slices = new ArrayList<>();
      // One routing for every slice: a duplicate follows its original's tenant to its partition
      // even when the original came in an earlier slice. A fresh routing per slice sent such a
      // duplicate to partition 0, against the input contract (README, ordering assumptions): read
      // ahead of its tenant's backlog after the rollback, it moved page_views' high-water mark past
      // changes still to come, which were then skipped as replays.
      TenantRouting routing = new TenantRouting();
      for (int i = 0; i < SLICES; i++) {
        slices.add(input.subList(i * RECORDS / SLICES, (i + 1) * RECORDS / SLICES));
      }
      Reference reference = ClusterRuns.reference(stack, spec, input);
      JobConfig c = stack.config("ops", Sources.AS_GENERATED, false, "1h", stack.writer());
      Path jobYaml = ClusterRuns.writeJobYaml(tmp, c, LATENESS);
      Path lake = Path.of(URI.create(c.lakePath()));
      try (Connection su = stack.warehouse().connect();
          Statement s = su.createStatement()) {
        s.execute("CREATE ROLE " + OPERATOR + " LOGIN PASSWORD '" + OPERATOR_PASSWORD + "'");
        s.execute("GRANT tenant_export_operator TO " + OPERATOR);
      }
      log(
          t0,
          "Kafka, PostgreSQL, %d input records in %d slices and the jars ready",
          RECORDS,
          SLICES);

      List<String> jobs = new ArrayList<>();
      try (LocalFlinkCluster flink =
              LocalFlinkCluster.start(
                  tmp.resolve("flink"),
                  2,
                  2,
                  Map.of(JobConfig.PASSWORD_ENV, stack.writer().password()));
          RecordingProxy rest = new RecordingProxy(flink.restUrl())) {
        log(t0, "cluster up at %s", flink.restUrl());
        List<String> common =
            List.of(
                "--rest",
                rest.url(),
                "--config",
                jobYaml.toString(),
                "--registry-user",
                OPERATOR,
                "--timeout",
                "60s");

        stack.produce(Sources.AS_GENERATED, routing, slices.get(0));
        CliResult deploy = cli(t0, common, "job", "deploy", "--jar", v1.toString());
        assertThat(deploy.status()).as(deploy.err()).isZero();
        jobs.add(jobOf(deploy));
        assertThat(flink.jobState(jobs.get(0))).isEqualTo("RUNNING");
        stack.awaitCommitted(c);
        log(t0, "deployed job %s; slice 1 read", jobs.get(0));

        CliResult status = cli(t0, common, "job", "status");
        assertThat(status.status()).as(status.err()).isZero();
        assertThat(status.out())
            .contains("job " + jobs.get(0) + " RUNNING")
            .contains("last completed checkpoint")
            .contains("registry: current job " + jobs.get(0) + " (RUNNING)");

        stack.produce(Sources.AS_GENERATED, routing, slices.get(1));
        stack.awaitCommitted(c);
        log(t0, "slice 2 read by v1");
        CliResult savepoint = cli(t0, common, "job", "savepoint");
        assertThat(savepoint.status()).as(savepoint.err()).isZero();
        assertThat(savepoint.lastLine()).contains("savepoint");

        CliResult upgrade =
            cli(
                t0,
                common,
                "job",
                "upgrade",
                "--jar",
                v2.toString(),
                "--job.version=v2",
                "--job.export_version=" + v2Export);
        assertThat(upgrade.status()).as(upgrade.err()).isZero();
        jobs.add(jobOf(upgrade));
        String preUpgrade = restoredFrom(flink, jobs.get(1));
        assertThat(flink.jobState(jobs.get(0))).isEqualTo("FINISHED");
        assertThat(flink.jobState(jobs.get(1))).isEqualTo("RUNNING");

        // Slice 3 is read by v2 only (until the rollback): its metric counts exactly slice 3.
        stack.produce(Sources.AS_GENERATED, routing, slices.get(2));
        stack.awaitCommitted(c);
        List<String> v2Metric = changesApplied(slices.get(2), spec, v2Export);
        awaitEqual(
            "v2's metric rows", () -> rollupLines(stack, "metric_rollup", v2Export), v2Metric);
        List<Path> v2Files = awaitNonEmpty("v2's lake files", () -> partFiles(lake, v2Export));
        log(
            t0,
            "slice 3 read by v2: %d rows of its metric in the warehouse, %d part-v%d files",
            v2Metric.size(),
            v2Files.size(),
            v2Export);

        CliResult rollback = cli(t0, common, "job", "rollback");
        assertThat(rollback.status()).as(rollback.err()).isZero();
        jobs.add(jobOf(rollback));
        assertThat(restoredFrom(flink, jobs.get(2))).isEqualTo(preUpgrade);
        assertThat(flink.jobState(jobs.get(1))).isEqualTo("FINISHED");
        List<Path> archived =
            partFiles(lake.resolve("_retracted/export_version=" + v2Export), v2Export);
        assertThat(rollback.out())
            .contains(
                "retracted " + v2Metric.size() + " warehouse row(s) of export version " + v2Export)
            .contains(
                "retracted export version "
                    + v2Export
                    + ": "
                    + archived.size()
                    + " lake file(s) moved to "
                    + c.lakePath()
                    + "/_retracted/export_version="
                    + v2Export);
        assertThat(archived.size()).isGreaterThanOrEqualTo(v2Files.size());
        assertThat(partFiles(lake, v2Export))
            .as("part-v%d files left in the lake", v2Export)
            .isEmpty();
        assertThat(rollupLines(stack, "metric_rollup", v2Export)).isEmpty();
        assertThat(rollupLines(stack, "metric_rollup_retracted", v2Export)).isEqualTo(v2Metric);
        assertThat(retractedBy(stack)).containsExactly("rollback of upgrade #3");
        log(t0, "rolled back: v2's rows and %d files retracted", archived.size());

        stack.produce(Sources.AS_GENERATED, routing, slices.get(3));
        stack.awaitCommitted(c);
        log(t0, "slice 4 read by v1");

        CliResult bad = cli(t0, common, "job", "upgrade", "--jar", broken.toString());
        assertThat(bad.status()).as(bad.out()).isEqualTo(TenantExportCli.FAILED);
        assertThat(bad.err()).contains("upgrade to tenant-export-jobs-broken-job.jar");
        jobs.add(jobOf(bad));
        assertThat(flink.jobState(jobs.get(3))).isEqualTo("RUNNING");
        String beforeBroken = restoredFrom(flink, jobs.get(3));

        CliResult fails =
            cli(
                t0,
                common,
                "job",
                "upgrade",
                "--jar",
                failing.toString(),
                "--job.version=v2-failing",
                "--job.export_version=" + failingExport);
        assertThat(fails.status()).as(fails.out()).isEqualTo(TenantExportCli.FAILED);
        List<String> submitted = submittedJobs(fails);
        assertThat(submitted).hasSize(2);
        String failingJob = submitted.get(0);
        assertThat(fails.err())
            .contains("upgrade to tenant-export-jobs-v2-failing-job.jar")
            .contains("job " + failingJob + " failed")
            .contains("RefusesCheckpoints cannot write its state");
        assertThat(fails.out())
            .contains("retracted export version " + failingExport + ": 0 lake file(s)");
        String beforeFailing = restoredFrom(flink, failingJob);
        assertThat(flink.jobState(failingJob)).isEqualTo("CANCELED");
        jobs.add(submitted.get(1));
        assertThat(flink.jobState(jobs.get(4))).isEqualTo("RUNNING");
        assertThat(restoredFrom(flink, jobs.get(4))).isEqualTo(beforeFailing);
        log(t0, "the failing upgrade %s rolled back to v1 as %s", failingJob, jobs.get(4));

        CliResult stop = cli(t0, common, "job", "stop", "--drain");
        assertThat(stop.status()).as(stop.err()).isZero();
        assertThat(flink.jobState(jobs.get(4))).isEqualTo("FINISHED");

        // One submission per start: deploy without state, then every other from a savepoint,
        // none allowing state to be left unrestored.
        List<String> savepoints = new ArrayList<>();
        for (JsonNode run : rest.runs()) {
          assertThat(run.path("allowNonRestoredState").asBoolean(false))
              .as("allowNonRestoredState in %s", run)
              .isFalse();
          savepoints.add(run.path("savepointPath").asText("-"));
        }
        assertThat(savepoints)
            .containsExactly(
                "-",
                preUpgrade,
                preUpgrade,
                beforeBroken,
                beforeBroken,
                beforeFailing,
                beforeFailing);

        List<String> registry = registryRows(stack);
        String v1Jar = "tenant-export-jobs-v1-job.jar";
        String v2Jar = "tenant-export-jobs-v2-job.jar";
        String brokenJar = "tenant-export-jobs-broken-job.jar";
        String failingJar = "tenant-export-jobs-v2-failing-job.jar";
        String v = c.jobVersion();
        assertThat(registry)
            .containsExactly(
                "deploy|ok|" + jobs.get(0) + "|" + v1Jar + "|" + v + "|" + v1Export + "|-",
                "savepoint|ok|"
                    + jobs.get(0)
                    + "|"
                    + v1Jar
                    + "|"
                    + v
                    + "|"
                    + v1Export
                    + "|"
                    + savepoint.lastLine(),
                "upgrade|ok|" + jobs.get(1) + "|" + v2Jar + "|v2|" + v2Export + "|" + preUpgrade,
                "rollback|ok|"
                    + jobs.get(2)
                    + "|"
                    + v1Jar
                    + "|"
                    + v
                    + "|"
                    + v1Export
                    + "|"
                    + preUpgrade,
                "upgrade|failed|-|" + brokenJar + "|" + v + "|" + v1Export + "|" + beforeBroken,
                "rollback-auto|ok|"
                    + jobs.get(3)
                    + "|"
                    + v1Jar
                    + "|"
                    + v
                    + "|"
                    + v1Export
                    + "|"
                    + beforeBroken,
                "upgrade|failed|"
                    + failingJob
                    + "|"
                    + failingJar
                    + "|v2-failing|"
                    + failingExport
                    + "|"
                    + beforeFailing,
                "rollback-auto|ok|"
                    + jobs.get(4)
                    + "|"
                    + v1Jar
                    + "|"
                    + v
                    + "|"
                    + v1Export
                    + "|"
                    + beforeFailing,
                "stop|ok|"
                    + jobs.get(4)
                    + "|"
                    + v1Jar
                    + "|"
                    + v
                    + "|"
                    + v1Export
                    + "|"
                    + stop.lastLine());
        log(t0, "registry:%n  %s", String.join("\n  ", registry));
        appendOnly(stack);

        List<String> operations = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r :
            stack.kafka().readAll(c.auditTopic(), true, java.time.Duration.ofSeconds(30))) {
          JsonNode e = JSON.readTree(r.value());
          if (e.path("type").asText().equals("OPERATION")) {
            String reason = e.path("reason").asText();
            String[] words = reason.split(" ");
            operations.add(
                e.path("origin").asText()
                    + " "
                    + words[0]
                    + " "
                    + words[1].replaceAll("[:,;]$", "")
                    + " v"
                    + e.path("export_version").asInt()
                    + (reason.contains("retracted export version " + v2Export)
                        ? " retracted v" + v2Export
                        : "")
                    + (reason.contains("retracted export version " + failingExport)
                        ? " retracted v" + failingExport
                        : ""));
          }
        }
        assertThat(operations)
            .containsExactly(
                "export_registry#1 deploy ok v1",
                "export_registry#2 savepoint ok v1",
                "export_registry#3 upgrade ok v2",
                "export_registry#4 rollback ok v1 retracted v2",
                "export_registry#5 upgrade failed v1",
                "export_registry#6 rollback-auto ok v1",
                "export_registry#7 upgrade failed v3",
                "export_registry#8 rollback-auto ok v1 retracted v3",
                "export_registry#9 stop ok v1");
      }
      RunOutputs out = stack.outputs(c);
      ClusterRuns.assertLakeEqualsReference(out, reference);
      assertThat(out.warehouse()).isEqualTo(reference.warehouse);
      assertReceiptsEqualReference(out, reference, v1Export);
      log(
          t0,
          "lake, warehouse and receipts equal the reference for %d tenants",
          reference.lake.size());
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

  /**
   * The rows of the v2 metric that {@code slice} must produce: per tenant, table and window, the
   * valid changes (late ones included, as in the lake), as {@link #rollupLines} shows them.
   */
  private static List<String> changesApplied(
      List<GeneratedRecord> slice, ExportSpec spec, int exportVersion) {
    Map<String, Long> counts = new TreeMap<>();
    for (GeneratedRecord r : slice) {
      if (r.truth() instanceof Truth.Valid valid) {
        long start = spec.windowStart(valid.eventTimeMillis());
        counts.merge(
            valid.tenantId()
                + "|"
                + ChangesPerWindow.metric(valid.table())
                + "|"
                + Instant.ofEpochMilli(start),
            1L,
            Long::sum);
      }
    }
    List<String> lines = new ArrayList<>();
    counts.forEach((k, n) -> lines.add(k + "|" + n + "|" + exportVersion));
    return lines;
  }

  /** Rows of {@code table} (in schema tenant_export) of one export version, sorted. */
  private static List<String> rollupLines(ItStack stack, String table, int exportVersion)
      throws SQLException {
    List<String> lines = new ArrayList<>();
    try (Connection c = stack.warehouse().connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT tenant_id, metric, window_start, value, export_version FROM tenant_export."
                    + table
                    + " WHERE export_version = "
                    + exportVersion)) {
      while (rs.next()) {
        lines.add(
            String.join(
                "|",
                rs.getString(1),
                rs.getString(2),
                rs.getObject(3, OffsetDateTime.class).toInstant().toString(),
                rs.getBigDecimal(4).toPlainString(),
                Integer.toString(rs.getInt(5))));
      }
    }
    lines.sort(null);
    return lines;
  }

  private static List<String> retractedBy(ItStack stack) throws SQLException {
    List<String> by = new ArrayList<>();
    try (Connection c = stack.warehouse().connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT DISTINCT retracted_by FROM tenant_export.metric_rollup_retracted")) {
      while (rs.next()) {
        by.add(rs.getString(1));
      }
    }
    return by;
  }

  /** Committed files named {@code part-v<exportVersion>-*} in {@code root}'s partition folders. */
  private static List<Path> partFiles(Path root, int exportVersion) {
    Pattern name =
        Pattern.compile(
            "tenant_id=[^/]+/dt=[^/]+/"
                + Pattern.quote(ProductionIo.partPrefix(exportVersion))
                + "-[^/]*");
    return LakeFiles.allFiles(root).stream()
        .filter(f -> name.matcher(root.relativize(f).toString().replace('\\', '/')).matches())
        .toList();
  }

  /**
   * Flink's REST API behind a forwarding proxy that records the body of every {@code POST
   * /jars/:id/run}: what the CLI asked Flink to run, savepoint and allowNonRestoredState included.
   * Flink keeps neither in a job's configuration as the REST API shows it, so the submissions are
   * checked where they are made.
   */
  private static final class RecordingProxy implements AutoCloseable {
    private static final Pattern RUN = Pattern.compile("/jars/[^/]+/run");
    private final HttpServer server;
    private final HttpClient client = HttpClient.newHttpClient();
    private final List<JsonNode> runs = new CopyOnWriteArrayList<>();

    RecordingProxy(String target) throws IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/", exchange -> forward(target, exchange));
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** The bodies of the job submissions, in order. */
    List<JsonNode> runs() {
      return List.copyOf(runs);
    }

    private void forward(String target, HttpExchange exchange) throws IOException {
      try (exchange) {
        byte[] body = exchange.getRequestBody().readAllBytes();
        String path = exchange.getRequestURI().toString();
        if (exchange.getRequestMethod().equals("POST") && RUN.matcher(path).matches()) {
          runs.add(JSON.readTree(body));
        }
        HttpRequest.Builder request =
            HttpRequest.newBuilder(URI.create(target + path))
                .method(
                    exchange.getRequestMethod(),
                    body.length == 0
                        ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        String type = exchange.getRequestHeaders().getFirst("Content-Type");
        if (type != null) {
          request.header("Content-Type", type);
        }
        HttpResponse<byte[]> response =
            client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        response
            .headers()
            .firstValue("Content-Type")
            .ifPresent(t -> exchange.getResponseHeaders().add("Content-Type", t));
        byte[] answer = response.body();
        exchange.sendResponseHeaders(
            response.statusCode(), answer.length == 0 ? -1 : answer.length);
        if (answer.length > 0) {
          exchange.getResponseBody().write(answer);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while forwarding to " + target, e);
      }
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  /**
   * The receipts and late-event audit of export version {@code exportVersion} per tenant equal the
   * reference's (changes per window, duplicates skipped, quarantined, late), each window once.
   */
  private static void assertReceiptsEqualReference(
      RunOutputs out, Reference reference, int exportVersion) {
    Map<String, Map<Long, Long>> eventsIn = new TreeMap<>();
    Map<String, Long> duplicates = new TreeMap<>();
    Map<String, Long> quarantined = new TreeMap<>();
    Map<String, Long> late = new TreeMap<>();
    List<String> windows = new ArrayList<>();
    for (JsonNode e : out.auditEvents()) {
      if (e.path("export_version").asInt() != exportVersion) {
        continue;
      }
      String tenant = e.path("tenant_id").asText(null);
      switch (e.path("type").asText()) {
        case "LATE_EVENT" -> late.merge(tenant, 1L, Long::sum);
        case "WINDOW_RECEIPT" -> {
          long ws = Instant.parse(e.path("window_start").asText()).toEpochMilli();
          windows.add(tenant + "@" + ws);
          if (e.path("events_in").asLong() > 0) {
            eventsIn
                .computeIfAbsent(tenant, t -> new TreeMap<>())
                .put(ws, e.path("events_in").asLong());
          }
          duplicates.merge(tenant, e.path("duplicates_skipped").asLong(), Long::sum);
          quarantined.merge(tenant, e.path("quarantined").asLong(), Long::sum);
        }
        default -> {}
      }
    }
    assertThat(windows).as("receipts").doesNotHaveDuplicates();
    assertThat(eventsIn).isEqualTo(reference.eventsIn);
    assertThat(late).isEqualTo(reference.late);
    duplicates.values().removeIf(n -> n == 0);
    quarantined.values().removeIf(n -> n == 0);
    assertThat(duplicates).isEqualTo(reference.duplicates);
    assertThat(quarantined).isEqualTo(reference.quarantinedWithTenant);
  }

  private interface Probe<T> {
    T get() throws Exception;
  }

  private static <T> void awaitEqual(String what, Probe<T> probe, T expected) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    T seen = probe.get();
    while (!seen.equals(expected) && System.nanoTime() < deadline) {
      Thread.sleep(200);
      seen = probe.get();
    }
    assertThat(seen).as(what).isEqualTo(expected);
  }

  private static <T> List<T> awaitNonEmpty(String what, Probe<List<T>> probe) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    List<T> seen = probe.get();
    while (seen.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(200);
      seen = probe.get();
    }
    assertThat(seen).as(what).isNotEmpty();
    return seen;
  }

  private static CliResult cli(long t0, List<String> common, String... command) {
    return ClusterRuns.cli(IT, t0, OPERATOR_PASSWORD, common, command);
  }

  /** The job a command's output says it submitted last. */
  private static String jobOf(CliResult r) {
    List<String> jobs = submittedJobs(r);
    assertThat(jobs).as("a submitted job in %s", r.out()).isNotEmpty();
    return jobs.get(jobs.size() - 1);
  }

  /** The jobs a command's output says it submitted, in order. */
  private static List<String> submittedJobs(CliResult r) {
    return r.out()
        .lines()
        .filter(line -> line.startsWith("submitted job "))
        .map(line -> line.substring("submitted job ".length()).trim())
        .toList();
  }

  private static String restoredFrom(LocalFlinkCluster flink, String job) {
    return flink
        .get("/jobs/" + job + "/checkpoints")
        .path("latest")
        .path("restored")
        .path("external_path")
        .asText();
  }

  /**
   * Each registry row as {@code action|outcome|job|jar file|job version|export version|savepoint}.
   */
  private static List<String> registryRows(ItStack stack) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Connection c =
            DriverManager.getConnection(stack.warehouse().jdbcUrl(), OPERATOR, OPERATOR_PASSWORD);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT action, outcome, job_id, jar, job_version, savepoint_path"
                    + ", export_version FROM tenant_export.export_registry ORDER BY id")) {
      while (rs.next()) {
        rows.add(
            String.join(
                "|",
                rs.getString(1),
                rs.getString(2),
                orDash(rs.getString(3)),
                rs.getString(4).split(" ")[0],
                rs.getString(5),
                Integer.toString(rs.getInt(7)),
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
   * The job jar plus the compiled classes of package {@code v2} (the test classes of this module),
   * with {@code entry} as the manifest's entry class: a jar whose code exists only in v2.
   */
  private static Path withV2(Path jar, Path target, Class<?> entry) throws IOException {
    Files.copy(jar, target);
    try (FileSystem zip = FileSystems.newFileSystem(target);
        Stream<Path> classes = Files.list(V2_CLASSES)) {
      Path dir = zip.getPath(entry.getPackageName().replace('.', '/'));
      Files.createDirectories(dir);
      for (Path c : classes.toList()) {
        Files.copy(c, dir.resolve(c.getFileName().toString()));
      }
      setEntryClass(zip, entry.getName());
    }
    return target;
  }

  /**
   * A copy of the job jar whose manifest names an entry class that does not exist: Flink refuses to
   * run it, every time, before anything starts.
   */
  private static Path brokenCopy(Path jar, Path target) throws IOException {
    Files.copy(jar, target);
    try (FileSystem zip = FileSystems.newFileSystem(target)) {
      setEntryClass(zip, "io.tenantexport.jobs.NoSuchJob");
    }
    return target;
  }

  private static void setEntryClass(FileSystem zip, String className) throws IOException {
    Path entry = zip.getPath("META-INF/MANIFEST.MF");
    Manifest manifest;
    try (var in = Files.newInputStream(entry)) {
      manifest = new Manifest(in);
    }
    manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, className);
    try (var out = Files.newOutputStream(entry)) {
      manifest.write(out);
    }
  }

  private static void log(long t0, String format, Object... args) {
    System.out.printf(
        "OperationsIT +%5.1fs %s%n", (System.nanoTime() - t0) / 1e9, String.format(format, args));
  }
}
