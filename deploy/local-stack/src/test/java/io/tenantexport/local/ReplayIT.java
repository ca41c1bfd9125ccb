package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.local.ClusterRuns.CliResult;
import io.tenantexport.local.ItStack.Sources;
import io.tenantexport.local.infra.LocalFlinkCluster;
import io.tenantexport.local.inspect.LakeFiles;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.apache.avro.generic.GenericRecord;
import org.apache.hadoop.conf.Configuration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The single-tenant replay on a real Flink session cluster (a JobManager and two TaskManagers, each
 * its own JVM), real Kafka and PostgreSQL, driven by {@code tenant-export replay} in-process while
 * the live job (deployed with {@code tenant-export job deploy}) keeps running and new input keeps
 * arriving.
 *
 * <p>The incident: one of tenant T's committed lake files is deleted, some of T's rollups of the
 * range are deleted and a bogus one is added. After the replay of T's windows [from, to):
 *
 * <ul>
 *   <li>T's lake rows in the range equal the reference exactly once each and carry the replay's
 *       export version R; every row of T the lake held outside the range is there exactly as often
 *       as before (once);
 *   <li>T's rollups of the range equal the reference with export version R; the bogus one is in
 *       {@code metric_rollup_retracted}, marked with the replay;
 *   <li>T's receipts from the replay carry the replay id and R, and cover the range's windows;
 *   <li>every other tenant's lake files are byte-identical and their rollups unchanged (new input
 *       only adds files and rows of new windows);
 *   <li>the registry holds a {@code replay} row with R and its OPERATION event was sent.
 * </ul>
 *
 * <p>The input is generated traffic of 24 tenants produced before the live job reads it, so the
 * live job reads it in a burst; as in the other cluster tests, a long allowed lateness keeps
 * windows open whatever the order of topics, and the idle timeout closes them once the input is
 * read. The input that arrives during the replay continues the same stream three windows later (so
 * that it starts fresh windows) and is stamped with the wall clock, as new CDC records are: after
 * the range's read end, so the replay does not read it.
 */
class ReplayIT {
  private static final int RECORDS = 12_000;
  private static final String LATENESS = "60m";
  private static final String T = "t00-acme";
  private static final String OPERATOR = "ops_cli";
  private static final String IT = "ReplayIT";
  private static final String OPERATOR_PASSWORD = "operator-secret-for-the-test";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Kept when the test fails: the cluster's logs are under {@code flink/log}. */
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  @Test
  void replayingOneTenantWhileTheLiveJobRunsRestoresItOnceAndLeavesEveryOtherTenantAlone()
      throws Exception {
    long t0 = System.nanoTime();
    Path jar = Files.copy(ClusterRuns.jobJar(), tmp.resolve("tenant-export-jobs-live-job.jar"));
    ExportSpec spec = ItStack.spec(LATENESS);
    Instant start = ItStack.inputStart();
    // Two whole windows well inside the input (which spans about 4 minutes from start).
    Instant from = start.plus(spec.window());
    Instant to = from.plus(spec.window().multipliedBy(2));
    try (ItStack stack = ItStack.start(tmp, spec, ClusterRuns.POLICIES)) {
      stack.createTopics(Sources.AS_GENERATED);
      TrafficGenerator gen = new TrafficGenerator(TrafficGenerator.Config.defaults(start));
      List<GeneratedRecord> input = gen.take(RECORDS);
      // One routing for all input, also what arrives during the replay: a duplicate must follow its
      // original to the tenant's partition (README, ordering assumptions).
      TenantRouting routing = new TenantRouting();
      stack.produce(Sources.AS_GENERATED, routing, input);
      Reference reference = ClusterRuns.reference(stack, spec, input);
      JobConfig c = stack.config("replay", Sources.AS_GENERATED, false, "1h", stack.writer());
      Path jobYaml = ClusterRuns.writeJobYaml(tmp, c, LATENESS);
      Path lake = Path.of(URI.create(c.lakePath()));
      try (Connection su = stack.warehouse().connect();
          Statement s = su.createStatement()) {
        s.execute("CREATE ROLE " + OPERATOR + " LOGIN PASSWORD '" + OPERATOR_PASSWORD + "'");
        s.execute("GRANT tenant_export_operator TO " + OPERATOR);
      }
      int referenceRows = reference.warehouse.values().stream().mapToInt(List::size).sum();
      log(
          t0,
          "%d input records for %d tenants; range [%s, %s)",
          RECORDS,
          reference.lake.size(),
          from,
          to);

      try (LocalFlinkCluster flink =
          LocalFlinkCluster.start(
              tmp.resolve("flink"),
              2,
              2,
              Map.of(JobConfig.PASSWORD_ENV, stack.writer().password()))) {
        List<String> common =
            List.of(
                "--rest",
                flink.restUrl(),
                "--config",
                jobYaml.toString(),
                "--registry-user",
                OPERATOR,
                "--timeout",
                "180s");
        CliResult deploy =
            cli(t0, common, "job", "deploy", "--jar", jar.toString(), "--job.idle_timeout=15s");
        assertThat(deploy.status()).as(deploy.err()).isZero();
        stack.awaitCommitted(c);
        awaitRollups(stack, referenceRows);
        assertThat(rollups(stack, r -> true))
            .as("live rollups before the replay")
            .isEqualTo(
                reference.warehouse.values().stream().flatMap(List::stream).sorted().toList());
        log(
            t0,
            "live job deployed; input read and every window flushed (%d rollups)",
            referenceRows);

        // The incident: a lost lake file and lost or bogus rollups of T in the range.
        Path lost = incidentFile(lake, from, to);
        Files.delete(lost);
        int deletedRollups;
        try (Connection su = stack.warehouse().connect();
            Statement s = su.createStatement()) {
          deletedRollups =
              s.executeUpdate(
                  "DELETE FROM tenant_export.metric_rollup WHERE tenant_id = '"
                      + T
                      + "' AND window_start = '"
                      + from
                      + "' AND metric LIKE 'order%'");
          s.execute(
              "INSERT INTO tenant_export.metric_rollup (tenant_id, source_table, metric, dimensions,"
                  + " window_start, window_end, value, row_count, revision, export_version)"
                  + " VALUES ('"
                  + T
                  + "', 'page_views', 'page_view_count', '{\"page\":\"/bogus\"}', '"
                  + from
                  + "', '"
                  + from.plus(spec.window())
                  + "', 7, 7, 7, 1)");
        }
        assertThat(deletedRollups).isPositive();
        log(
            t0,
            "incident: deleted %s and %d rollups of %s, added a bogus one",
            lake.relativize(lost),
            deletedRollups,
            T);

        Map<String, String> othersFiles = otherTenantsFiles(lake);
        Map<String, Integer> tOutside = lineCounts(lakeRows(lake, T, r -> !in(r, from, to)));
        List<String> othersRollups = rollups(stack, r -> !r.startsWith(T + "|"));
        List<String> tRollupsOutside =
            rollups(stack, r -> r.startsWith(T + "|") && !windowIn(r, from, to));

        // New input keeps arriving while the replay runs: the same stream, three windows later.
        List<GeneratedRecord> later = new ArrayList<>();
        // Three windows on: an invoice is only edited within a minute of being issued (its event
        // time),
        // so nothing of the new input falls into a window the live job has already written.
        long resume = input.get(input.size() - 1).timestamp() + 3 * spec.window().toMillis();
        Instant firstNewWindow =
            Instant.ofEpochMilli(spec.windowStart(resume - spec.window().toMillis()));
        for (GeneratedRecord r = gen.next(); later.size() < 3_000; r = gen.next()) {
          if (r.timestamp() >= resume) {
            later.add(r);
          }
        }
        AtomicBoolean replaying = new AtomicBoolean(true);
        AtomicInteger produced = new AtomicInteger();
        Thread producer =
            new Thread(
                () -> {
                  for (int i = 0; i < later.size() && replaying.get(); i += 100) {
                    List<ProducerRecord<byte[], byte[]>> batch = new ArrayList<>();
                    for (GeneratedRecord r : later.subList(i, Math.min(i + 100, later.size()))) {
                      ProducerRecord<byte[], byte[]> p =
                          routing.route(r, TenantRouting.PARTITIONS.get(r.topic()));
                      // No timestamp: stamped now, as a CDC connector stamps new records.
                      batch.add(
                          new ProducerRecord<>(r.topic(), p.partition(), null, p.key(), p.value()));
                    }
                    stack.kafka().produce(batch);
                    produced.addAndGet(batch.size());
                    try {
                      Thread.sleep(250);
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                },
                "new-input");
        producer.start();
        CliResult replay;
        try {
          replay =
              cli(
                  t0,
                  common,
                  "replay",
                  "--tenant",
                  T,
                  "--from",
                  from.toString(),
                  "--to",
                  to.toString());
        } finally {
          replaying.set(false);
          producer.join();
        }
        assertThat(replay.status()).as(replay.err()).isZero();
        assertThat(produced.get()).as("records produced during the replay").isPositive();
        stack.awaitCommitted(c);
        String replayJob = jobOf(replay);
        assertThat(flink.jobState(replayJob)).isEqualTo("FINISHED");
        assertThat(flink.jobState(jobOf(deploy))).isEqualTo("RUNNING");
        log(
            t0,
            "replay done while %d new records arrived; the live job still runs",
            produced.get());

        // Registry: one replay row with the new export version, and its OPERATION event.
        Map<String, String> row = replayRow(stack);
        int version = Integer.parseInt(row.get("export_version"));
        assertThat(version).isEqualTo(spec.version() + 1);
        assertThat(row.get("outcome")).isEqualTo("ok");
        assertThat(row.get("job_id")).isEqualTo(replayJob);
        String replayId = row.get("detail").split(" ")[1];
        assertThat(replayId).startsWith("r" + version + "-");
        assertThat(row.get("detail")).contains("lake:").contains("warehouse: 1 stale rollups");

        // Lake: T's range once each, as the reference, from the replay; T's other rows as before.
        List<LakeFiles.Row> tInRange = lakeRows(lake, T, r -> in(r, from, to));
        assertThat(
                tInRange.stream()
                    .map(r -> RunOutputs.lakeLine(r.record(), false))
                    .sorted()
                    .toList())
            .as("lake rows of %s in the range", T)
            .isEqualTo(
                reference.lake.get(T).stream()
                    .filter(l -> in(Long.parseLong(l.split("\\|")[3]), from, to))
                    .toList());
        assertThat(tInRange)
            .allSatisfy(r -> assertThat(r.record().get("export_version")).isEqualTo(version));
        Map<String, Integer> tOutsideAfter = lineCounts(lakeRows(lake, T, r -> !in(r, from, to)));
        tOutside.forEach(
            (line, n) ->
                assertThat(tOutsideAfter.get(line))
                    .as("%s's row outside the range: %s", T, line)
                    .isEqualTo(n));

        // Warehouse: T's range as the reference with R; the bogus row retracted; the rest
        // unchanged.
        assertThat(rollups(stack, r -> r.startsWith(T + "|") && windowIn(r, from, to)))
            .isEqualTo(
                reference.warehouse.get(T).stream()
                    .filter(l -> windowIn(l, from, to))
                    .map(l -> l.substring(0, l.lastIndexOf('|') + 1) + version)
                    .toList());
        assertThat(retracted(stack))
            .containsExactly(
                T + "|page_view_count|{\"page\":\"/bogus\"}|" + from + "|1|replay #" + replayId);
        List<String> tRollupsOutsideAfter =
            rollups(stack, r -> r.startsWith(T + "|") && !windowIn(r, from, to));
        assertThat(tRollupsOutsideAfter).containsAll(tRollupsOutside);
        List<String> othersRollupsAfter = rollups(stack, r -> !r.startsWith(T + "|"));
        assertThat(othersRollupsAfter).as("other tenants' rollups").containsAll(othersRollups);
        assertThat(windows(othersRollupsAfter, othersRollups))
            .as("windows of other tenants' new rollups")
            .allSatisfy(w -> assertThat(Instant.parse(w)).isAfterOrEqualTo(firstNewWindow));

        // Other tenants' lake files: every one byte for byte as it was.
        Map<String, String> othersFilesAfter = otherTenantsFiles(lake);
        othersFiles.forEach(
            (file, sha) ->
                assertThat(othersFilesAfter.get(file))
                    .as("other tenant's file %s", file)
                    .isEqualTo(sha));
        log(
            t0,
            "%d files of other tenants unchanged, %d rollups of other tenants unchanged",
            othersFiles.size(),
            othersRollups.size());

        // Receipts: T's from the replay carry its id and R, and cover the range's windows.
        List<JsonNode> stamped = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r :
            stack.kafka().readAll(c.auditTopic(), true, Duration.ofSeconds(30))) {
          JsonNode e = JSON.readTree(r.value());
          if (e.path("replay_id").asText("").equals(replayId)) {
            stamped.add(e);
          }
        }
        List<JsonNode> receipts =
            stamped.stream().filter(e -> e.path("type").asText().equals("WINDOW_RECEIPT")).toList();
        assertThat(stamped)
            .extracting(e -> e.path("type").asText())
            .contains("JOB_START", "WINDOW_RECEIPT")
            .isSubsetOf("JOB_START", "WINDOW_RECEIPT", "LATE_EVENT");
        assertThat(receipts)
            .allSatisfy(
                e -> {
                  assertThat(e.path("tenant_id").asText()).isEqualTo(T);
                  assertThat(e.path("export_version").asInt()).isEqualTo(version);
                });
        TreeSet<Long> receiptWindows = new TreeSet<>();
        receipts.forEach(
            e -> receiptWindows.add(Instant.parse(e.path("window_start").asText()).toEpochMilli()));
        assertThat(receiptWindows)
            .isEqualTo(
                new TreeSet<>(
                    reference.eventsIn.get(T).keySet().stream()
                        .filter(ws -> in(ws, from, to))
                        .toList()));
        List<String> operations = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r :
            stack.kafka().readAll(c.auditTopic(), true, Duration.ofSeconds(30))) {
          JsonNode e = JSON.readTree(r.value());
          if (e.path("type").asText().equals("OPERATION")) {
            operations.add(
                e.path("reason").asText().split(":")[0] + " v" + e.path("export_version").asInt());
          }
        }
        assertThat(operations)
            .containsExactly("deploy ok v" + spec.version(), "replay ok v" + version);
        log(t0, "%d receipts of the replay; registry and audit record it", receipts.size());
      }
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

  /**
   * T's committed lake file with the most rows in the range: the incident loses it. Its rows
   * outside the range (if any) stay lost; the replay restores the range.
   */
  private static Path incidentFile(Path lake, Instant from, Instant to) {
    Map<Path, Integer> inRange = new TreeMap<>();
    for (LakeFiles.Row r : lakeRows(lake, T, x -> true)) {
      inRange.merge(r.file(), in(r, from, to) ? 1 : 0, Integer::sum);
    }
    Path file =
        inRange.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
    assertThat(inRange.get(file)).as("rows in the range of %s", file).isPositive();
    return file;
  }

  /**
   * Committed rows of {@code tenant}'s live partitions that {@code keep} accepts, read with
   * parquet-avro's own reader. The replay's {@code _staging} and {@code _replaced} folders are not
   * partitions (Hive-style readers skip {@code _} folders); {@code LakeFiles.readAll} refuses them.
   */
  private static List<LakeFiles.Row> lakeRows(
      Path lake, String tenant, Predicate<LakeFiles.Row> keep) {
    List<LakeFiles.Row> rows = new ArrayList<>();
    Path root = lake.resolve("tenant_id=" + tenant);
    for (Path file : LakeFiles.committedFiles(root)) {
      String date = root.relativize(file).getName(0).toString().substring("dt=".length());
      try (ParquetReader<GenericRecord> reader =
          AvroParquetReader.<GenericRecord>builder(new LocalInputFile(file))
              .withConf(new Configuration(false))
              .build()) {
        for (GenericRecord r = reader.read(); r != null; r = reader.read()) {
          LakeFiles.Row row = new LakeFiles.Row(tenant, date, file, r);
          if (keep.test(row)) {
            rows.add(row);
          }
        }
      } catch (IOException e) {
        throw new AssertionError("cannot read lake file " + file, e);
      }
    }
    return rows;
  }

  private static Map<String, Integer> lineCounts(List<LakeFiles.Row> rows) {
    Map<String, Integer> counts = new TreeMap<>();
    rows.forEach(r -> counts.merge(RunOutputs.lakeLine(r.record(), true), 1, Integer::sum));
    return counts;
  }

  private static boolean in(LakeFiles.Row r, Instant from, Instant to) {
    return in(RunOutputs.eventTime(r.record()), from, to);
  }

  private static boolean in(long eventTime, Instant from, Instant to) {
    return eventTime >= from.toEpochMilli() && eventTime < to.toEpochMilli();
  }

  /** SHA-256 of every committed file of every tenant but T, by path. */
  private static Map<String, String> otherTenantsFiles(Path lake) throws Exception {
    Map<String, String> out = new TreeMap<>();
    for (Path f : LakeFiles.committedFiles(lake)) {
      String rel = lake.relativize(f).toString();
      if (rel.startsWith("tenant_id=") && !rel.startsWith("tenant_id=" + T + "/")) {
        out.put(
            rel,
            HexFormat.of()
                .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
      }
    }
    assertThat(out).isNotEmpty();
    return out;
  }

  /** A rollup line (RunOutputs' format) whose window lies wholly in [from, to). */
  private static boolean windowIn(String line, Instant from, Instant to) {
    String[] f = line.split("\\|");
    return !Instant.parse(f[4]).isBefore(from) && !Instant.parse(f[5]).isAfter(to);
  }

  /** Window starts of rollups in {@code after} that are not in {@code before}. */
  private static List<String> windows(List<String> after, List<String> before) {
    List<String> added = new ArrayList<>(after);
    added.removeAll(before);
    return added.stream().map(l -> l.split("\\|")[4]).distinct().toList();
  }

  /**
   * Waits until the live job's idle timeout has flushed every window: as many rollups as the
   * reference.
   */
  private static void awaitRollups(ItStack stack, int expected) throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (true) {
      try (Connection c = stack.warehouse().connect();
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM tenant_export.metric_rollup")) {
        rs.next();
        if (rs.getInt(1) >= expected) {
          return;
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError("only " + rs.getInt(1) + " of " + expected + " rollups written");
        }
      }
      Thread.sleep(500);
    }
  }

  /**
   * Rollups as lines, in RunOutputs' format followed by {@code exported_at} (an unchanged row keeps
   * it), sorted; only those {@code keep} accepts.
   */
  private static List<String> rollups(ItStack stack, Predicate<String> keep) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = stack.warehouse().connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT tenant_id, source_table, metric, dimensions, window_start, window_end,"
                    + " value, row_count, revision, export_version FROM tenant_export.metric_rollup")) {
      while (rs.next()) {
        BigDecimal v = rs.getBigDecimal("value");
        String line =
            String.join(
                "|",
                rs.getString(1),
                rs.getString(2),
                rs.getString(3),
                rs.getString(4),
                rs.getObject(5, OffsetDateTime.class).toInstant().toString(),
                rs.getObject(6, OffsetDateTime.class).toInstant().toString(),
                v == null ? "null" : RunOutputs.canonical(v),
                Long.toString(rs.getLong(8)),
                Long.toString(rs.getLong(9)),
                Integer.toString(rs.getInt(10)));
        if (keep.test(line)) {
          out.add(line);
        }
      }
    }
    out.sort(null);
    return out;
  }

  /**
   * Retracted rollups as {@code tenant|metric|dimensions|window start|export version|retracted by}.
   */
  private static List<String> retracted(ItStack stack) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = stack.warehouse().connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT tenant_id, metric, dimensions, window_start, export_version, retracted_by"
                    + " FROM tenant_export.metric_rollup_retracted ORDER BY 1, 2, 3, 4")) {
      while (rs.next()) {
        out.add(
            String.join(
                "|",
                rs.getString(1),
                rs.getString(2),
                rs.getString(3),
                rs.getObject(4, OffsetDateTime.class).toInstant().toString(),
                Integer.toString(rs.getInt(5)),
                rs.getString(6)));
      }
    }
    return out;
  }

  /** The registry's one replay row, read as the operator. */
  private static Map<String, String> replayRow(ItStack stack) throws SQLException {
    List<Map<String, String>> rows = new ArrayList<>();
    try (Connection c =
            DriverManager.getConnection(stack.warehouse().jdbcUrl(), OPERATOR, OPERATOR_PASSWORD);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT job_id, export_version, outcome, detail FROM tenant_export.export_registry"
                    + " WHERE action = 'replay' ORDER BY id")) {
      while (rs.next()) {
        rows.add(
            Map.of(
                "job_id", rs.getString(1),
                "export_version", rs.getString(2),
                "outcome", rs.getString(3),
                "detail", rs.getString(4)));
      }
    }
    assertThat(rows).hasSize(1);
    return rows.get(0);
  }

  private static void log(long t0, String format, Object... args) {
    System.out.printf(
        "ReplayIT +%5.1fs %s%n", (System.nanoTime() - t0) / 1e9, String.format(format, args));
  }
}
