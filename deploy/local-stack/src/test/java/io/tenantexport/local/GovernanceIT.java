package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.tenantexport.common.cdc.QuarantineReason;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.gen.Truth;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.spec.TableSpec;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.jobs.cli.TenantExportCli;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import io.tenantexport.local.ItStack.Sources;
import io.tenantexport.local.inspect.LakeFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.crypto.Mac;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.FileAppender;
import org.apache.logging.log4j.core.config.AppenderRef;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The governance proof, on real components: an embedded KRaft Kafka broker, an embedded PostgreSQL
 * and a Flink MiniCluster at parallelism 2, running the production pipeline with a policy folder
 * written here (one file per generated tenant but one).
 *
 * <p>Hostile input (invalid and look-alike tenant ids, key/payload mismatches, a tenant sending 80
 * % of the traffic, a policy published under another tenant's name) stays within its tenant or is
 * quarantined exactly once with its reason; canary personal data reaches no output, no checkpoint
 * or savepoint and no log line; policy updates published while the job runs take effect at once,
 * invalid ones are refused and audited, and pausing and offboarding a tenant stop its exports
 * without restarting the job.
 */
class GovernanceIT {
  /** The generated tenants, busiest first: the generator names tenant k {@code tKK-<name>}. */
  private static final String A = "t00-acme";

  private static final String B = "t01-globex";
  private static final String C = "t02-initech";

  /** Has a policy that does not list {@code invoices}. */
  private static final String NO_INVOICES = "t03-umbrella";

  /** Generated, but given no policy. */
  private static final String NO_POLICY = "t04-hooli";

  private static final List<String> GENERATED = List.of(A, B, C, NO_INVOICES, NO_POLICY);
  private static final List<String> WITH_POLICY = List.of(A, B, C, NO_INVOICES);

  /** Any 4 to 32 letters and digits; the generator starts every personal-data value with it. */
  private static final String MARKER = "CANARY7Q";

  /** Personal-data columns of the export spec, by table: the columns the canary marks. */
  private static final Map<String, List<String>> PERSONAL =
      Map.of(
          "page_views", List.of("user_email", "ip"),
          "orders", List.of("customer_name"),
          "invoices", List.of("billing_address"));

  /**
   * Above each input's event-time span, so that no change is late merely because partitions were
   * read in another order; windows close by the idle timeout or at the end.
   */
  private static final String LATENESS = "30m";

  private static final Pattern LAKE_FILE =
      Pattern.compile("tenant_id=([^/]+)/dt=(\\d{4}-\\d{2}-\\d{2})/part-[^/]+\\.parquet");
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension static final MiniClusterExtension FLINK = ItStack.miniCluster();

  @TempDir static Path tmp;

  private static LogCapture logs;
  private static ItStack stack;
  private static ExportSpec spec;
  private static Instant start;

  /** A column's rule in a tenant policy. */
  private record Action(String kind, int keepLast) {
    static final Action KEEP = new Action("keep", 0);
    static final Action DROP = new Action("drop", 0);
    static final Action HASH = new Action("hash", 0);

    static Action mask(int keepLast) {
      return new Action("mask", keepLast);
    }

    String yaml() {
      return switch (kind) {
        case "mask" -> "{action: mask, keep_last: " + keepLast + "}";
        case "hash" -> "{action: hash, key: " + DevSecrets.TENANT_KEY_ID + "}";
        default -> kind;
      };
    }
  }

  /**
   * Version 1 of every policy: drop, mask and hash each applied to canary-carrying columns, and
   * {@link #NO_INVOICES} not allowed {@code invoices}.
   */
  private static final Map<String, Map<String, Map<String, Action>>> RULES =
      Map.of(
          A, rules(Action.HASH, Action.mask(3), Action.mask(2), Action.HASH),
          B, rules(Action.DROP, Action.HASH, Action.HASH, Action.mask(3)),
          C, rules(Action.mask(2), Action.HASH, Action.mask(3), Action.DROP),
          NO_INVOICES, rules(Action.HASH, Action.mask(2), Action.DROP, null));

  /**
   * The policy {@link #NO_POLICY} is given while the job runs: masks and drops only, as the
   * keystore holds no key of a tenant outside the policy folder.
   */
  private static final Map<String, Map<String, Action>> PUBLISHED_LATER =
      rules(Action.mask(4), Action.DROP, Action.mask(3), Action.DROP);

  private static Map<String, Map<String, Action>> rules(
      Action email, Action ip, Action customer, Action billing) {
    Map<String, Map<String, Action>> t = new LinkedHashMap<>();
    Map<String, Action> pageViews = new LinkedHashMap<>();
    pageViews.put("page", Action.KEEP);
    pageViews.put("duration_ms", Action.KEEP);
    pageViews.put("user_email", email);
    pageViews.put("ip", ip);
    t.put("page_views", pageViews);
    Map<String, Action> orders = new LinkedHashMap<>();
    orders.put("status", Action.KEEP);
    orders.put("amount", Action.KEEP);
    orders.put("customer_name", customer);
    t.put("orders", orders);
    if (billing != null) {
      Map<String, Action> invoices = new LinkedHashMap<>();
      invoices.put("currency", Action.KEEP);
      invoices.put("total", Action.KEEP);
      invoices.put("due_on", Action.KEEP);
      invoices.put("metadata", Action.DROP);
      invoices.put("billing_address", billing);
      t.put("invoices", invoices);
    }
    return t;
  }

  /** A policy document as a tenant would publish it. */
  private static String policyText(
      String tenant, long version, String status, Map<String, Map<String, Action>> tables) {
    StringBuilder y = new StringBuilder();
    y.append("tenant: ").append(tenant).append('\n');
    y.append("version: ").append(version).append('\n');
    y.append("status: ").append(status).append('\n');
    y.append("tables:\n");
    tables.forEach(
        (table, columns) -> {
          y.append("  ").append(table).append(":\n");
          columns.forEach(
              (column, action) ->
                  y.append("    ").append(column).append(": ").append(action.yaml()).append('\n'));
        });
    return y.toString();
  }

  @BeforeAll
  static void startComponents() throws Exception {
    logs = LogCapture.start(tmp.resolve("logs"));
    spec = ItStack.spec(LATENESS);
    Path policies = Files.createDirectories(tmp.resolve("policies"));
    for (String tenant : WITH_POLICY) {
      Files.writeString(
          policies.resolve(tenant + ".yaml"), policyText(tenant, 1, "active", RULES.get(tenant)));
    }
    stack = ItStack.start(tmp, spec, policies);
    start = ItStack.inputStart();
  }

  @AfterAll
  static void stopComponents() {
    try {
      if (stack != null) {
        stack.close();
      }
    } finally {
      if (logs != null) {
        logs.close();
      }
    }
  }

  // ---- 1. hostile input and tenant isolation

  @Test
  void hostileTenantIdsStayOutOfPathsAndTablesAndEveryRefusedRecordIsQuarantinedOnce()
      throws Exception {
    String run = "hostile";
    List<GeneratedRecord> input =
        new TrafficGenerator(
                skewed()
                    .seed(1)
                    .malformedRate(0.15)
                    // A top tenant with about 80 % of the traffic.
                    .zipfExponent(2.6)
                    .build())
            .take(8_000);
    Map<String, Long> valid = new TreeMap<>();
    Set<String> hostileIds = new HashSet<>();
    long mismatches = 0;
    for (GeneratedRecord r : input) {
      if (r.truth() instanceof Truth.Valid v) {
        valid.merge(v.tenantId(), 1L, Long::sum);
      } else if (r.truth() instanceof Truth.Malformed m) {
        if (m.expected() == QuarantineReason.INVALID_TENANT_ID) {
          hostileIds.add(r.keyText());
        } else if (m.expected() == QuarantineReason.TENANT_MISMATCH) {
          mismatches++;
        }
      }
    }
    long total = valid.values().stream().mapToLong(Long::longValue).sum();
    assertThat(valid.keySet()).containsExactlyInAnyOrderElementsOf(GENERATED);
    assertThat((double) valid.get(A) / total).as("share of %s", A).isBetween(0.75, 0.85);
    assertThat(hostileIds).containsAll(TrafficGenerator.HOSTILE_TENANT_IDS);
    assertThat(mismatches).isPositive();

    stack.createTopics(Sources.of(run));
    stack.produce(Sources.of(run), new TenantRouting(), input);
    stack.truncateWarehouse();
    try (Connection c = stack.warehouse().connect();
        Statement s = c.createStatement()) {
      // The table the SQL-injection tenant id names.
      s.execute("DROP TABLE IF EXISTS public.t");
      s.execute("CREATE TABLE public.t (id integer)");
      s.execute("INSERT INTO public.t VALUES (1)");
    }
    JobConfig c = config(run, true, "1h");
    // Published under A's name, but the document is B's: neither A nor B may change.
    publishPolicy(
        c,
        A,
        policyText(B, 5, "active", rules(Action.KEEP, Action.KEEP, Action.KEEP, Action.KEEP)));
    StreamExecutionEnvironment env = ItStack.env(c, new Configuration());
    TenantExportPipeline.build(env, c, ProductionIo.create(c));
    env.execute(c.jobName());
    RunOutputs out = stack.outputs(c);

    // The lake: tenant_id=<tenant with a policy>/dt=<date>/part files and nothing else; every row
    // of a file belongs to the file's tenant.
    Path lake = lake(run);
    assertThat(list(lake.getParent())).containsExactly("lake");
    try (Stream<Path> all = Files.walk(tmp)) {
      assertThat(all.map(p -> p.getFileName().toString()))
          .as("no path escaped the lake root")
          .doesNotContain("other", "b");
    }
    List<String> layoutProblems = new ArrayList<>();
    try (Stream<Path> all = Files.walk(lake)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        String rel = lake.relativize(p).toString().replace('\\', '/');
        int depth = rel.isEmpty() ? 0 : rel.split("/").length;
        boolean ok =
            switch (depth) {
              case 0 -> true;
              case 1 ->
                  Files.isDirectory(p)
                      && rel.startsWith("tenant_id=")
                      && WITH_POLICY.contains(rel.substring("tenant_id=".length()));
              case 2 ->
                  Files.isDirectory(p) && rel.split("/")[1].matches("dt=\\d{4}-\\d{2}-\\d{2}");
              case 3 -> Files.isRegularFile(p) && LAKE_FILE.matcher(rel).matches();
              default -> false;
            };
        if (!ok) {
          layoutProblems.add(rel);
        }
      }
    }
    assertThat(layoutProblems).as("lake paths outside tenant_id=<tenant>/dt=<date>/").isEmpty();
    List<Path> files = LakeFiles.committedFiles(lake);
    assertThat(files).isNotEmpty();
    for (Path file : files) {
      Matcher m = LAKE_FILE.matcher(lake.relativize(file).toString().replace('\\', '/'));
      assertThat(m.matches()).isTrue();
      assertThat(out.lakeRows())
          .filteredOn(r -> r.file().equals(file))
          .isNotEmpty()
          .allSatisfy(
              r -> assertThat(r.record().get("tenant_id").toString()).isEqualTo(m.group(1)));
    }
    // Every change of an allowed table of a tenant with a policy, and nothing else.
    Map<String, Long> expectedRows = new TreeMap<>();
    for (GeneratedRecord r : input) {
      if (r.truth() instanceof Truth.Valid v
          && WITH_POLICY.contains(v.tenantId())
          && !(v.tenantId().equals(NO_INVOICES) && v.table().equals("invoices"))) {
        expectedRows.merge(v.tenantId(), 1L, Long::sum);
      }
    }
    Map<String, Long> lakeRows = new TreeMap<>();
    out.lakeRows().forEach(r -> lakeRows.merge(r.pathTenant(), 1L, Long::sum));
    assertThat(lakeRows).isEqualTo(expectedRows);
    // The refused policy changed nothing: every row was redacted by version 1.
    assertThat(out.lakeRows())
        .allSatisfy(r -> assertThat(r.record().get("policy_version")).isEqualTo(1L));

    // The warehouse: only tenants with a policy, and the injected SQL ran nowhere.
    try (Connection conn = stack.warehouse().connect();
        Statement s = conn.createStatement()) {
      Set<String> tenants = new TreeSet<>();
      try (ResultSet rs =
          s.executeQuery("SELECT DISTINCT tenant_id FROM tenant_export.metric_rollup")) {
        while (rs.next()) {
          tenants.add(rs.getString(1));
        }
      }
      assertThat(tenants).isNotEmpty().allSatisfy(t -> assertThat(WITH_POLICY).contains(t));
      try (ResultSet rs = s.executeQuery("SELECT count(*) FROM tenant_export.metric_rollup")) {
        rs.next();
        assertThat(rs.getLong(1)).isPositive();
      }
      try (ResultSet rs = s.executeQuery("SELECT count(*) FROM public.t")) {
        rs.next();
        assertThat(rs.getLong(1)).isEqualTo(1);
      }
    }

    // The quarantine: every refused record exactly once, with its reason, its tenant and its
    // bytes (sealed).
    List<String> expected = new ArrayList<>();
    Map<String, Truth.Valid> byIdentity = new HashMap<>();
    for (GeneratedRecord r : input) {
      Truth t = r.truth();
      if (t instanceof Truth.Malformed m) {
        expected.add(quarantineLine(run, r, m.expected(), m.tenantIdOrNull()));
        continue;
      }
      Truth.Valid v;
      if (t instanceof Truth.Valid original) {
        byIdentity.put(original.identity(), original);
        v = original;
      } else if (t instanceof Truth.Duplicate d) {
        v = byIdentity.get(d.identity());
      } else {
        continue; // a tombstone: dropped, whoever's it is
      }
      if (v.tenantId().equals(NO_POLICY)) {
        if (!namesItsTenant(r, v)) {
          // A key-only delete: the job cannot know whose row it is, as the row itself was refused.
          // A re-sent copy of it is recognised as a replay of the parked original.
          if (t instanceof Truth.Valid) {
            expected.add(quarantineLine(run, r, QuarantineReason.UNATTRIBUTABLE_CHANGE, null));
          }
        } else {
          expected.add(quarantineLine(run, r, QuarantineReason.NO_POLICY, NO_POLICY));
        }
      } else if (v.tenantId().equals(NO_INVOICES) && v.table().equals("invoices")) {
        expected.add(quarantineLine(run, r, QuarantineReason.TABLE_NOT_ALLOWED, NO_INVOICES));
      }
    }
    List<String> actual = new ArrayList<>();
    try (KeyProvider keys = stack.openKeys()) {
      for (JsonNode q : out.quarantineRecords()) {
        actual.add(RunOutputs.quarantineLine(q, keys, "origin_topic", "reason_code", "tenant_id"));
      }
    }
    assertThat(actual).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(actual)
        .extracting(l -> l.split("\\|")[1])
        .contains(
            QuarantineReason.INVALID_TENANT_ID.name(),
            QuarantineReason.TENANT_MISMATCH.name(),
            QuarantineReason.NO_POLICY.name(),
            QuarantineReason.TABLE_NOT_ALLOWED.name());
    // Records of the quarantine and audit topics are keyed by a valid tenant or by nothing.
    for (String topic : List.of(c.quarantineTopic(), c.auditTopic())) {
      assertThat(stack.kafka().readAll(topic, true, Duration.ofSeconds(30)))
          .extracting(ConsumerRecord::key)
          .allSatisfy(
              k -> {
                if (k != null) {
                  assertThat(GENERATED).contains(new String(k, StandardCharsets.UTF_8));
                }
              });
    }
    assertThat(out.auditEvents())
        .extracting(e -> e.path("tenant_id").asText(null))
        .allSatisfy(
            t -> assertThat(t == null || GENERATED.contains(t)).as("tenant %s", t).isTrue());

    // The policy published under another tenant's name was refused, and audited as such.
    List<JsonNode> policyEvents =
        out.auditEvents().stream()
            .filter(e -> e.path("type").asText().startsWith("POLICY_"))
            .toList();
    assertThat(policyEvents).hasSize(1);
    JsonNode rejected = policyEvents.get(0);
    assertThat(rejected.path("type").asText()).isEqualTo("POLICY_REJECTED");
    assertThat(rejected.path("tenant_id").asText()).isEqualTo(A);
    assertThat(rejected.path("reason").asText()).contains("published for tenant " + A, B);
  }

  /** The row a change is about, as {@code table|key}. */
  private static String row(Truth.Valid v) {
    return v.table() + "|" + rowKey(v.table(), v.op().equals("d") ? v.before() : v.after());
  }

  /**
   * What identifies a row of {@code table} in a change's image: the key of a mutable table; for
   * page views, whose id the policies leave out, the microsecond view time.
   */
  private static String rowKey(String table, Map<String, String> image) {
    return image.get(
        switch (table) {
          case "invoices" -> "invoice_id";
          case "orders" -> "id";
          default -> "viewed_at";
        });
  }

  /**
   * Whether a change names its tenant in its key or images: all do but PostgreSQL's key-only
   * deletes (default replica identity), whose key is the row's id or a null tenant.
   */
  private static boolean namesItsTenant(GeneratedRecord r, Truth.Valid v) {
    return !(v.op().equals("d")
        && v.table().equals("orders")
        && !r.keyText().contains(v.tenantId()));
  }

  private static String quarantineLine(
      String run, GeneratedRecord r, QuarantineReason reason, String tenant) {
    return topic(run, r.topic())
        + "|"
        + reason.name()
        + "|"
        + (tenant == null ? "-" : tenant)
        + "|"
        + RunOutputs.b64(r.key())
        + "|"
        + RunOutputs.b64(r.value());
  }

  // ---- 2. canary personal data

  @Test
  void canaryPersonalDataReachesNoOutputNoCheckpointNoSavepointAndNoLogLine() throws Exception {
    String run = "canary";
    OutputScanner scanner = new OutputScanner(MARKER);
    // The scanner finds the marker in each encoding it claims to: a clean scan means something.
    byte[] marker = MARKER.getBytes(StandardCharsets.US_ASCII);
    for (int shift = 0; shift < 3; shift++) {
      byte[] data = new byte[shift + marker.length + 2];
      System.arraycopy(marker, 0, data, shift, marker.length);
      assertThat(scanner.scan("control", Base64.getEncoder().encodeToString(data))).isNotEmpty();
    }
    assertThat(scanner.scan("control", HexFormat.of().formatHex(marker))).isNotEmpty();

    List<GeneratedRecord> input =
        new TrafficGenerator(skewed().seed(2).zipfExponent(1.2).piiMarker(MARKER).build())
            .take(5_000);
    stack.createTopics(Sources.of(run));
    stack.produce(Sources.of(run), new TenantRouting(), input);
    stack.truncateWarehouse();
    JobConfig c = config(run, false, "1h");
    Path checkpoints = tmp.resolve(run).resolve("checkpoints");
    Path savepoints = tmp.resolve(run).resolve("savepoints");
    Configuration conf = new Configuration();
    conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
    conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpoints.toUri().toString());
    conf.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, savepoints.toUri().toString());
    conf.set(
        CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
        ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
    StreamExecutionEnvironment env = ItStack.env(c, conf);
    TenantExportPipeline.build(env, c, ProductionIo.create(c));
    JobClient job = env.executeAsync(c.jobName());
    stack.awaitCommitted(c);
    // A job that finishes deletes its checkpoints (retention keeps them only when it is cancelled
    // or fails), so they are scanned while it runs, once a completed checkpoint covers the input.
    List<Path> checkpointFiles = LakeFiles.allFiles(checkpoints);
    List<OutputScanner.Finding> inCheckpoints = scanner.scanFiles(checkpoints);
    String savepoint =
        job.stopWithSavepoint(true, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
            .get(2, TimeUnit.MINUTES);
    job.getJobExecutionResult().get(2, TimeUnit.MINUTES);

    // Positive control: the canary is in the input, in every source topic.
    for (String source : TrafficGenerator.topics()) {
      assertThat(scanner.scanTopic(stack.kafka(), topic(run, source)))
          .as("canary in %s", source)
          .isNotEmpty();
    }
    // What is scanned is there to be scanned.
    assertThat(LakeFiles.committedFiles(lake(run))).hasSizeGreaterThan(3);
    assertThat(checkpointFiles)
        .extracting(p -> p.getFileName().toString())
        .filteredOn("_metadata"::equals)
        .isNotEmpty();
    assertThat(savepoint).contains(savepoints.getFileName().toString());
    assertThat(LakeFiles.allFiles(savepoints))
        .extracting(p -> p.getFileName().toString())
        .contains("_metadata");
    try (Connection conn = stack.warehouse().connect()) {
      assertThat(OutputScanner.tables(conn, "tenant_export")).contains("metric_rollup");
    }
    assertThat(stack.kafka().readAll(c.quarantineTopic(), true, Duration.ofSeconds(30)))
        .isNotEmpty();
    assertThat(stack.kafka().readAll(c.auditTopic(), true, Duration.ofSeconds(30))).isNotEmpty();
    String log = Files.readString(logs.file(), StandardCharsets.UTF_8);
    assertThat(log)
        .as("the captured log holds Flink's own INFO lines of this run")
        .contains("INFO")
        .contains("Completed checkpoint")
        .contains(c.jobName());

    Map<String, List<OutputScanner.Finding>> found = new LinkedHashMap<>();
    found.put("lake (raw bytes and values read back)", scanner.scanLake(lake(run)));
    found.put(
        "warehouse schema tenant_export",
        scanner.scanWarehouse(stack.warehouse(), "tenant_export"));
    found.put("audit topic", scanner.scanTopic(stack.kafka(), c.auditTopic()));
    found.put("quarantine topic", scanner.scanTopic(stack.kafka(), c.quarantineTopic()));
    found.put("log output", scanner.scanFiles(logs.directory()));
    found.put("checkpoints", inCheckpoints);
    found.put("savepoints", scanner.scanFiles(savepoints));
    found.put("everything under the run's directory", scanner.scanFiles(tmp.resolve(run)));
    found.forEach(
        (where, findings) ->
            assertThat(findings).as("canary %s in the %s", MARKER, where).isEmpty());

    // Positive control of the redaction: masked and hashed columns hold values derived from the
    // plaintext, never the plaintext; dropped ones are null.
    Map<String, Set<String>> plaintext = new HashMap<>();
    for (GeneratedRecord r : input) {
      if (r.truth() instanceof Truth.Valid v) {
        for (Map<String, String> image : Arrays.asList(v.before(), v.after())) {
          if (image == null) {
            continue;
          }
          for (String column : PERSONAL.get(v.table())) {
            if (image.get(column) != null) {
              plaintext
                  .computeIfAbsent(
                      v.tenantId() + "|" + v.table() + "|" + column, k -> new HashSet<>())
                  .add(image.get(column));
            }
          }
        }
      }
    }
    Map<String, Integer> seen = new TreeMap<>();
    try (KeyProvider keys = stack.openKeys()) {
      // What each plaintext becomes under its rule, computed here with the tenant's key.
      Map<String, Set<String>> derived = new HashMap<>();
      for (LakeFiles.Row row : LakeFiles.readAll(lake(run))) {
        String tenant = row.pathTenant();
        String table = row.record().get("source_table").toString();
        Map<String, String> columns = columns(row);
        for (String column : PERSONAL.get(table)) {
          Action action = RULES.get(tenant).get(table).get(column);
          String value = columns.get(column);
          String key = tenant + "|" + table + "|" + column;
          Set<String> plain = plaintext.getOrDefault(key, Set.of());
          String where = key + " in " + row.file();
          switch (action.kind()) {
            case "drop" -> assertThat(value).as(where).isNull();
            case "mask" ->
                assertThat(value)
                    .as(where)
                    .isNotNull()
                    .startsWith("***")
                    .hasSize(3 + action.keepLast());
            case "hash" -> assertThat(value).as(where).isNotNull().matches(HEX64);
            default -> throw new IllegalStateException(action.kind());
          }
          if (value != null) {
            assertThat(plain).as(where).doesNotContain(value);
            assertThat(derived.computeIfAbsent(key, k -> derive(tenant, action, plain, keys)))
                .as("%s is derived from a plaintext of %s", value, where)
                .contains(value);
            seen.merge(action.kind(), 1, Integer::sum);
          }
        }
      }
    }
    assertThat(seen).containsOnlyKeys("mask", "hash");
    assertThat(seen.values()).allSatisfy(n -> assertThat(n).isGreaterThan(20));
  }

  /** The plaintexts as {@code action} (mask or hash) renders them for {@code tenant}. */
  private static Set<String> derive(
      String tenant, Action action, Set<String> plaintexts, KeyProvider keys) {
    Set<String> out = new HashSet<>();
    Mac mac = null;
    if (action.kind().equals("hash")) {
      try {
        mac = Mac.getInstance("HmacSHA256");
        mac.init(keys.tenantKey(TenantId.of(tenant, "test"), DevSecrets.TENANT_KEY_ID));
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("cannot hash for " + tenant, e);
      }
    }
    for (String p : plaintexts) {
      out.add(
          mac == null
              ? "***" + p.substring(p.length() - action.keepLast())
              : HexFormat.of().formatHex(mac.doFinal(p.getBytes(StandardCharsets.UTF_8))));
    }
    return out;
  }

  // ---- 3. policy updates while the job runs

  @Test
  void policyUpdatesApplyWhileTheJobRunsInvalidOnesAreRefusedAndPauseAndOffboardStopExports()
      throws Exception {
    String run = "updates";
    // Three tenants (A, B, C) with equal traffic and no duplicates or malformed records (the
    // hostile
    // test has those), so that every count is exact; invoices are never edited after they are
    // issued (an edit's event time is its issue time, which would tie two batches to one window).
    TrafficGenerator gen =
        new TrafficGenerator(
            TrafficGenerator.Config.builder(start)
                .seed(3)
                .tenants(3)
                .zipfExponent(0)
                .quietTenants(0)
                .meanGap(Duration.ofMillis(500))
                .duplicateRate(0)
                .replayRate(0)
                .malformedRate(0)
                .lateRate(0)
                .snapshotOrders(20)
                .invoiceEditWindow(Duration.ZERO)
                .build());
    assertThat(gen.tenantIds()).containsExactly(A, B, C);
    List<List<GeneratedRecord>> batches = new ArrayList<>();
    List<Long> bounds = new ArrayList<>();
    cutIntoBatches(gen, 5, batches, bounds);

    stack.createTopics(Sources.of(run));
    stack.truncateWarehouse();
    JobConfig c = config(run, false, "2s");
    StreamExecutionEnvironment env = ItStack.env(c, new Configuration());
    TenantExportPipeline.build(env, c, ProductionIo.create(c));
    JobClient job = env.executeAsync(c.jobName());
    TenantRouting routing = new TenantRouting();
    Updates u = new Updates(run, c, job, batches, bounds);
    u.awaitRunning();

    // Batch 1 under version 1 of every policy.
    stack.produce(Sources.of(run), routing, batches.get(0));
    u.awaitExported(0, Set.of(A, B, C));

    // Version 2 of A's policy: user_email is now dropped instead of hashed.
    Map<String, Map<String, Action>> v2 =
        rules(Action.DROP, Action.mask(3), Action.mask(2), Action.HASH);
    publishPolicy(c, A, policyText(A, 2, "active", v2));
    u.awaitPolicyEvents("POLICY_APPLIED", A, 1);
    stack.produce(Sources.of(run), routing, batches.get(1));
    u.awaitExported(1, Set.of(A, B, C));

    // Two invalid updates: an older version, and an unknown action. Both refused, both audited.
    publishPolicy(
        c,
        A,
        policyText(A, 1, "active", rules(Action.KEEP, Action.KEEP, Action.KEEP, Action.KEEP)));
    publishPolicy(
        c,
        A,
        policyText(A, 3, "active", v2)
            .replace("user_email: drop", "user_email: {action: scramble}"));
    u.awaitPolicyEvents("POLICY_REJECTED", A, 2);
    stack.produce(Sources.of(run), routing, batches.get(2));
    u.awaitExported(2, Set.of(A, B, C));

    // Pause B: its changes are counted in its receipts, and exported nowhere.
    publishPolicy(c, B, policyText(B, 2, "paused", RULES.get(B)));
    u.awaitPolicyEvents("POLICY_APPLIED", B, 1);
    stack.produce(Sources.of(run), routing, batches.get(3));
    u.awaitExported(3, Set.of(A, C));
    u.awaitPausedReceipts(3, B);

    // Offboard C: its state is dropped and nothing of it is exported again.
    publishPolicy(c, C, policyText(C, 2, "offboarded", RULES.get(C)));
    u.awaitPolicyEvents("POLICY_APPLIED", C, 1);
    stack.produce(Sources.of(run), routing, batches.get(4));
    u.awaitExported(4, Set.of(A));
    assertThat(job.getJobStatus().get(10, TimeUnit.SECONDS)).isEqualTo(JobStatus.RUNNING);

    Path savepoints = tmp.resolve(run).resolve("savepoints");
    job.stopWithSavepoint(true, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
        .get(2, TimeUnit.MINUTES);
    job.getJobExecutionResult().get(2, TimeUnit.MINUTES);

    RunOutputs out = stack.outputs(c);
    assertThat(out.auditEvents())
        .filteredOn(e -> e.path("type").asText().equals("JOB_START"))
        .as("one job start: the job never restarted")
        .hasSize(1);
    // Quarantined: key-only deletes (they name no tenant) of rows the job knows no owner of: C's
    // after the offboarding, which forgot C's rows, and B's of rows inserted while B was paused,
    // which were never applied. They wait for an owner until the drain.
    List<String> unattributable = new ArrayList<>();
    Set<String> knownAtPause = u.rowsKnownBefore(B, 3);
    for (int b = 3; b < batches.size(); b++) {
      for (GeneratedRecord r : batches.get(b)) {
        if (r.truth() instanceof Truth.Valid v
            && !namesItsTenant(r, v)
            && ((v.tenantId().equals(C) && b == 4)
                || (v.tenantId().equals(B) && !knownAtPause.contains(row(v))))) {
          unattributable.add(
              topic(run, r.topic()) + "|" + QuarantineReason.UNATTRIBUTABLE_CHANGE + "|-");
        }
      }
    }
    assertThat(out.quarantineRecords())
        .extracting(
            q ->
                q.path("origin_topic").asText()
                    + "|"
                    + q.path("reason_code").asText()
                    + "|"
                    + q.path("tenant_id").asText("-"))
        .containsExactlyInAnyOrderElementsOf(unattributable);

    // The policy version behind each of A's changes: the version in force when it was decoded
    // (1 for batch 1, 2 after), but a delete exports the row's stored image and carries the version
    // that redacted that image.
    Map<String, Long> versionOfA = new HashMap<>();
    Map<Long, Long> windowVersionOfA = new TreeMap<>();
    Map<String, Long> rowVersion = new HashMap<>();
    for (int b = 0; b < batches.size(); b++) {
      long inForce = b == 0 ? 1 : 2;
      for (GeneratedRecord r : batches.get(b)) {
        if (!(r.truth() instanceof Truth.Valid v) || !v.tenantId().equals(A)) {
          continue;
        }
        String row = row(v);
        long version = inForce;
        if (v.op().equals("d")) {
          version = rowVersion.getOrDefault(row, inForce);
        } else {
          rowVersion.put(row, inForce);
        }
        versionOfA.put(row + "|" + v.op() + "|" + v.eventTimeMillis(), version);
        windowVersionOfA.merge(spec.windowStart(v.eventTimeMillis()), version, Math::max);
      }
    }
    windowVersionOfA.forEach(
        (ws, version) ->
            assertThat(version)
                .as("A's window %s", Instant.ofEpochMilli(ws))
                .isEqualTo(u.batchOf(ws) == 0 ? 1L : 2L));

    // Lake: A's batch 1 under version 1 (user_email hashed), batches 2 and later under version 2
    // (user_email dropped).
    Map<String, Map<Integer, Long>> lakeRows = new TreeMap<>();
    for (LakeFiles.Row row : out.lakeRows()) {
      String tenant = row.pathTenant();
      int batch = u.batchOf(eventTime(row));
      lakeRows.computeIfAbsent(tenant, t -> new TreeMap<>()).merge(batch, 1L, Long::sum);
      long version = (Long) row.record().get("policy_version");
      String where = tenant + " row of batch " + (batch + 1) + " " + row.record();
      if (tenant.equals(A)) {
        String table = row.record().get("source_table").toString();
        String identity =
            table
                + "|"
                + rowKey(table, columns(row))
                + "|"
                + row.record().get("op")
                + "|"
                + eventTime(row);
        assertThat(versionOfA).as(where).containsKey(identity);
        assertThat(version).as(where).isEqualTo(versionOfA.get(identity));
        if (row.record().get("source_table").toString().equals("page_views")) {
          String email = columns(row).get("user_email");
          if (batch == 0) {
            assertThat(email).as(where).isNotNull().matches(HEX64);
          } else {
            assertThat(email).as(where).isNull();
          }
        }
      } else {
        assertThat(version).as(where).isEqualTo(1L);
      }
    }
    assertThat(lakeRows.get(A)).containsOnlyKeys(0, 1, 2, 3, 4);
    assertThat(lakeRows.get(B)).as("B exports nothing while paused").containsOnlyKeys(0, 1, 2);
    assertThat(lakeRows.get(C))
        .as("C exports nothing once offboarded")
        .containsOnlyKeys(0, 1, 2, 3);

    // Warehouse and receipts: A's windows of batch 2 and later carry version 2.
    try (Connection conn = stack.warehouse().connect();
        Statement s = conn.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT tenant_id, window_start, policy_version FROM tenant_export.metric_rollup")) {
      Map<String, Set<Integer>> batchesWithRows = new TreeMap<>();
      while (rs.next()) {
        String tenant = rs.getString(1);
        long ws = rs.getObject(2, OffsetDateTime.class).toInstant().toEpochMilli();
        int batch = u.batchOf(ws);
        batchesWithRows.computeIfAbsent(tenant, t -> new TreeSet<>()).add(batch);
        long expectedVersion = tenant.equals(A) ? windowVersionOfA.get(ws) : 1;
        assertThat(rs.getLong(3))
            .as("%s warehouse row of batch %s", tenant, batch + 1)
            .isEqualTo(expectedVersion);
      }
      assertThat(batchesWithRows.get(A)).containsExactly(0, 1, 2, 3, 4);
      assertThat(batchesWithRows.get(B)).containsExactly(0, 1, 2);
      assertThat(batchesWithRows.get(C)).containsExactly(0, 1, 2, 3);
    }
    List<JsonNode> receipts =
        out.auditEvents().stream()
            .filter(e -> e.path("type").asText().equals("WINDOW_RECEIPT"))
            .toList();
    for (JsonNode r : receipts) {
      String tenant = r.path("tenant_id").asText();
      int batch = u.batchOf(Instant.parse(r.path("window_start").asText()).toEpochMilli());
      if (tenant.equals(A)) {
        long ws = Instant.parse(r.path("window_start").asText()).toEpochMilli();
        assertThat(r.path("policy_version").asLong())
            .as("A's receipt %s", r)
            .isEqualTo(windowVersionOfA.get(ws));
      }
      if (tenant.equals(C)) {
        assertThat(batch).as("C's receipt after offboarding %s", r).isLessThan(4);
      }
    }
    assertThat(receipts)
        .filteredOn(r -> r.path("tenant_id").asText().equals(A))
        .extracting(r -> u.batchOf(Instant.parse(r.path("window_start").asText()).toEpochMilli()))
        .contains(0, 1, 2, 3, 4);

    // Policy audit: three versions applied, two refused with their reasons.
    List<JsonNode> applied = u.policyEvents(out.auditEvents(), "POLICY_APPLIED");
    assertThat(applied)
        .extracting(e -> e.path("tenant_id").asText() + " v" + e.path("policy_version").asLong())
        .containsExactlyInAnyOrder(A + " v2", B + " v2", C + " v2");
    List<JsonNode> refused = u.policyEvents(out.auditEvents(), "POLICY_REJECTED");
    assertThat(refused)
        .hasSize(2)
        .allSatisfy(e -> assertThat(e.path("tenant_id").asText()).isEqualTo(A));
    assertThat(refused)
        .extracting(e -> e.path("reason").asText())
        .anySatisfy(r -> assertThat(r).contains("version 1 is older than version 2"))
        .anySatisfy(r -> assertThat(r).contains("unknown action").contains("scramble"));
  }

  /**
   * Splits the generator's stream into {@code n} consecutive batches, each at least two windows
   * long, cut where no window is shared: every record before a cut (by event time and by Kafka
   * timestamp, which places markers) lies in an earlier window than every record after it.
   */
  private static void cutIntoBatches(
      TrafficGenerator gen, int n, List<List<GeneratedRecord>> batches, List<Long> bounds) {
    long window = spec.window().toMillis();
    List<GeneratedRecord> stream = new ArrayList<>();
    long end = start.toEpochMilli() + (2L * n + 4) * window;
    for (GeneratedRecord r = gen.next(); r.timestamp() < end; r = gen.next()) {
      stream.add(r);
    }
    int from = 0;
    long boundary = spec.windowStart(start.toEpochMilli()) + 2 * window;
    while (batches.size() < n) {
      int cut = cleanCut(stream, boundary);
      if (cut <= from) {
        boundary += window;
        assertThat(boundary).as("a clean cut").isLessThan(end);
        continue;
      }
      batches.add(List.copyOf(stream.subList(from, cut)));
      bounds.add(boundary);
      from = cut;
      boundary += 2 * window;
    }
  }

  /**
   * The index where every earlier record lies before {@code boundary} and no later one does, or -1.
   */
  private static int cleanCut(List<GeneratedRecord> stream, long boundary) {
    int cut = 0;
    while (cut < stream.size() && latest(stream.get(cut)) < boundary) {
      cut++;
    }
    for (int i = cut; i < stream.size(); i++) {
      if (earliest(stream.get(i)) < boundary) {
        return -1;
      }
    }
    return cut;
  }

  private static long latest(GeneratedRecord r) {
    return r.truth() instanceof Truth.Valid v
        ? Math.max(v.eventTimeMillis(), r.timestamp())
        : r.timestamp();
  }

  private static long earliest(GeneratedRecord r) {
    return r.truth() instanceof Truth.Valid v
        ? Math.min(v.eventTimeMillis(), r.timestamp())
        : r.timestamp();
  }

  /** The waits of the policy-update test; each one also checks that the job is still RUNNING. */
  private static final class Updates {
    private final String run;
    private final JobConfig config;
    private final JobClient job;
    private final List<List<GeneratedRecord>> batches;
    private final List<Long> bounds;

    Updates(
        String run,
        JobConfig config,
        JobClient job,
        List<List<GeneratedRecord>> batches,
        List<Long> bounds) {
      this.run = run;
      this.config = config;
      this.job = job;
      this.batches = batches;
      this.bounds = bounds;
    }

    /** The batch whose windows hold {@code time}. */
    int batchOf(long time) {
      int b = 0;
      while (b < bounds.size() && time >= bounds.get(b)) {
        b++;
      }
      assertThat(b)
          .as("time %s lies in a batch", Instant.ofEpochMilli(time))
          .isLessThan(bounds.size());
      return b;
    }

    void awaitRunning() throws Exception {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
      while (job.getJobStatus().get(10, TimeUnit.SECONDS) != JobStatus.RUNNING) {
        assertThat(System.nanoTime()).as("job running in time").isLessThan(deadline);
        Thread.sleep(100);
      }
    }

    /**
     * Waits until batch {@code b}'s changes of {@code tenants} are all in the lake and each of
     * these tenants has the receipt of its last window of the batch.
     */
    void awaitExported(int b, Set<String> tenants) throws Exception {
      Map<String, Long> expected = new TreeMap<>();
      Map<String, Long> lastWindow = new TreeMap<>();
      for (GeneratedRecord r : batches.get(b)) {
        if (r.truth() instanceof Truth.Valid v && tenants.contains(v.tenantId())) {
          expected.merge(v.tenantId(), 1L, Long::sum);
          lastWindow.merge(v.tenantId(), spec.windowStart(v.eventTimeMillis()), Math::max);
        }
      }
      assertThat(expected.keySet()).isEqualTo(tenants);
      await(
          "batch " + (b + 1) + " of " + tenants + " exported",
          () -> {
            Map<String, Long> rows = new TreeMap<>();
            for (LakeFiles.Row row : LakeFiles.readAll(lake(run))) {
              if (tenants.contains(row.pathTenant()) && batchOf(eventTime(row)) == b) {
                rows.merge(row.pathTenant(), 1L, Long::sum);
              }
            }
            if (!rows.equals(expected)) {
              return "lake rows " + rows + ", expected " + expected;
            }
            Set<String> missing = new TreeSet<>();
            List<JsonNode> audit = audit();
            lastWindow.forEach(
                (tenant, ws) -> {
                  if (receipt(audit, tenant, ws) == null) {
                    missing.add(tenant + "@" + Instant.ofEpochMilli(ws));
                  }
                });
            return missing.isEmpty() ? null : "receipts missing: " + missing;
          });
    }

    /**
     * Waits for the receipts of every window in which {@code tenant}, paused, had changes in batch
     * {@code b}, and checks they count each such change as paused and none as exported.
     */
    void awaitPausedReceipts(int b, String tenant) throws Exception {
      Map<Long, Long> paused = new TreeMap<>();
      Set<String> known = rowsKnownBefore(tenant, b);
      for (GeneratedRecord r : batches.get(b)) {
        // A paused change is counted in the window of its Kafka timestamp; a key-only delete only
        // when the job knows whose row it is (a row inserted during the pause was never applied).
        if (r.truth() instanceof Truth.Valid v
            && v.tenantId().equals(tenant)
            && (namesItsTenant(r, v) || known.contains(row(v)))) {
          paused.merge(spec.windowStart(r.timestamp()), 1L, Long::sum);
        }
      }
      assertThat(paused).isNotEmpty();
      List<JsonNode> receipts = new ArrayList<>();
      await(
          "receipts of paused " + tenant + " for batch " + (b + 1),
          () -> {
            List<JsonNode> audit = audit();
            receipts.clear();
            for (Long ws : paused.keySet()) {
              JsonNode r = receipt(audit, tenant, ws);
              if (r == null) {
                return "no receipt of " + tenant + " for " + Instant.ofEpochMilli(ws);
              }
              receipts.add(r);
            }
            return null;
          });
      assertThat(LakeFiles.readAll(lake(run)))
          .filteredOn(row -> row.pathTenant().equals(tenant) && batchOf(eventTime(row)) >= b)
          .as("lake rows of paused %s", tenant)
          .isEmpty();
      Map<Long, Long> counted = new TreeMap<>();
      for (JsonNode r : receipts) {
        assertThat(r.path("events_in").asLong()).as("receipt %s", r).isZero();
        assertThat(r.path("rollup_rows").asInt()).as("receipt %s", r).isZero();
        counted.put(
            Instant.parse(r.path("window_start").asText()).toEpochMilli(),
            r.path("paused_skipped").asLong());
      }
      assertThat(counted).as("paused_skipped per window of %s", tenant).isEqualTo(paused);
    }

    /**
     * The rows of mutable tables of {@code tenant} that exist after the batches before {@code b}.
     */
    Set<String> rowsKnownBefore(String tenant, int b) {
      Set<String> rows = new HashSet<>();
      for (List<GeneratedRecord> batch : batches.subList(0, b)) {
        for (GeneratedRecord r : batch) {
          if (r.truth() instanceof Truth.Valid v
              && v.tenantId().equals(tenant)
              && !v.table().equals("page_views")) {
            if (v.op().equals("d")) {
              rows.remove(row(v));
            } else {
              rows.add(row(v));
            }
          }
        }
      }
      return rows;
    }

    /**
     * Waits until {@code count} events of {@code type} for {@code tenant} are in the audit topic.
     */
    void awaitPolicyEvents(String type, String tenant, int count) throws Exception {
      await(
          count + " " + type + " of " + tenant,
          () -> {
            long n =
                policyEvents(audit(), type).stream()
                    .filter(e -> e.path("tenant_id").asText().equals(tenant))
                    .count();
            return n >= count ? null : n + " so far";
          });
    }

    List<JsonNode> policyEvents(List<JsonNode> audit, String type) {
      return audit.stream().filter(e -> e.path("type").asText().equals(type)).toList();
    }

    private static JsonNode receipt(List<JsonNode> audit, String tenant, long windowStart) {
      for (JsonNode e : audit) {
        if (e.path("type").asText().equals("WINDOW_RECEIPT")
            && e.path("tenant_id").asText().equals(tenant)
            && Instant.parse(e.path("window_start").asText()).toEpochMilli() == windowStart) {
          return e;
        }
      }
      return null;
    }

    private List<JsonNode> audit() {
      return committedJson(config.auditTopic());
    }

    /** What is still missing, or null when the awaited state is reached. */
    interface Check {
      String missing() throws Exception;
    }

    private void await(String what, Check check) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        JobStatus status = job.getJobStatus().get(10, TimeUnit.SECONDS);
        if (status != JobStatus.RUNNING) {
          Throwable cause = null;
          try {
            job.getJobExecutionResult().get(10, TimeUnit.SECONDS);
          } catch (Exception e) {
            cause = e;
          }
          throw new AssertionError(
              "the job is " + status + ", not RUNNING, while waiting for " + what, cause);
        }
        String missing = check.missing();
        if (missing == null) {
          return;
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError("timed out waiting for " + what + ": " + missing);
        }
        Thread.sleep(250);
      }
    }
  }

  // ---- 4. replaying a tenant's quarantine once its policy is published

  @Test
  void
      quarantinedRecordsOfATenantWithoutAPolicyAreExportedOnceAfterThePolicyIsPublishedAndTheyAreReplayed()
          throws Exception {
    String run = "replay";
    // Equal traffic and no duplicates, late or malformed records, so that every count is exact;
    // personal data carries the canary, which the replay tool opens but must never print.
    TrafficGenerator gen =
        new TrafficGenerator(
            skewed()
                .seed(5)
                .zipfExponent(0)
                .meanGap(Duration.ofMillis(200))
                .duplicateRate(0)
                .replayRate(0)
                .malformedRate(0)
                .lateRate(0)
                .piiMarker(MARKER)
                .build());
    // Two batches of about two minutes each: all of it within the allowed lateness.
    List<List<GeneratedRecord>> batches = List.of(gen.take(750), gen.take(750));
    List<GeneratedRecord> first = validOf(NO_POLICY, batches.get(0));
    List<GeneratedRecord> second = validOf(NO_POLICY, batches.get(1));
    List<GeneratedRecord> both = Stream.concat(first.stream(), second.stream()).toList();
    // A key-only delete names no tenant: it is not quarantined but waits for its row's owner.
    long noPolicy = first.stream().filter(r -> namesItsTenant(r, valid(r))).count();
    Set<String> keyOnlyDeleted = new HashSet<>();
    for (GeneratedRecord r : both) {
      if (!namesItsTenant(r, valid(r))) {
        keyOnlyDeleted.add(row(valid(r)));
      }
    }
    // The mutable rows the job holds before the replay: those a change of batch 2 attributes.
    Set<String> heldBeforeReplay = new HashSet<>();
    for (GeneratedRecord r : second) {
      if (namesItsTenant(r, valid(r)) && !valid(r).table().equals("page_views")) {
        heldBeforeReplay.add(row(valid(r)));
      }
    }
    Set<String> exportedBeforeReplay = new HashSet<>();
    for (GeneratedRecord r : second) {
      if (namesItsTenant(r, valid(r)) || heldBeforeReplay.contains(row(valid(r)))) {
        exportedBeforeReplay.add(changeOf(r));
      }
    }
    Map<String, GeneratedRecord> expected = new HashMap<>();
    both.forEach(r -> expected.put(changeOf(r), r));
    Set<String> replayed = new HashSet<>();
    first.forEach(r -> replayed.add(changeOf(r)));
    assertThat(expected).hasSize(both.size());
    assertThat(first)
        .extracting(r -> valid(r).table())
        .contains("page_views", "orders", "invoices");
    assertThat(first)
        .as("batch 1 carries the canary")
        .anySatisfy(r -> assertThat(r.valueText()).contains(MARKER));

    stack.createTopics(Sources.of(run));
    stack.truncateWarehouse();
    // No idle flush: the tenant's windows stay open until the drain, so a replayed change that is
    // applied is counted in them and one that goes to the lake only is flagged late.
    JobConfig c = config(run, false, "1h");
    Path jobFile = jobFile(c, Files.createDirectories(tmp.resolve(run)).resolve("job.yaml"));
    StreamExecutionEnvironment env = ItStack.env(c, new Configuration());
    TenantExportPipeline.build(env, c, ProductionIo.create(c));
    JobClient job = env.executeAsync(c.jobName());
    TenantRouting routing = new TenantRouting();
    Updates u = new Updates(run, c, job, batches, List.of());
    u.awaitRunning();

    // Batch 1 without a policy: quarantined, nothing exported.
    stack.produce(Sources.of(run), routing, batches.get(0));
    u.await(
        noPolicy + " NO_POLICY quarantine records of " + NO_POLICY,
        () -> {
          long n =
              committedJson(c.quarantineTopic()).stream()
                  .filter(q -> q.path("reason_code").asText().equals("NO_POLICY"))
                  .filter(q -> q.path("tenant_id").asText().equals(NO_POLICY))
                  .count();
          return n == noPolicy ? null : n + " so far";
        });
    assertThat(lakeChanges(run, NO_POLICY)).isEmpty();

    // The policy, then batch 2: it is exported, and moves the high-water marks past batch 1.
    publishPolicy(c, NO_POLICY, policyText(NO_POLICY, 1, "active", PUBLISHED_LATER));
    u.awaitPolicyEvents("POLICY_APPLIED", NO_POLICY, 1);
    stack.produce(Sources.of(run), routing, batches.get(1));
    awaitLakeChanges(u, run, "batch 2 of " + NO_POLICY, exportedBeforeReplay);
    assertThat(lakeChanges(run, NO_POLICY).keySet())
        .as("%s's lake before the replay", NO_POLICY)
        .isEqualTo(exportedBeforeReplay);

    // Replayed once: every change of batch 1 reaches the lake. Replayed again: nothing changes.
    replayNoPolicyRecords(jobFile, noPolicy);
    awaitLakeChanges(u, run, "the replay of " + NO_POLICY, expected.keySet());
    Map<String, Long> afterFirstReplay = lakeChanges(run, NO_POLICY);
    replayNoPolicyRecords(jobFile, noPolicy);
    // The job has read the second replay when its checkpoints commit the end offsets.
    stack.awaitCommitted(c);
    assertThat(job.getJobStatus().get(10, TimeUnit.SECONDS)).isEqualTo(JobStatus.RUNNING);
    Path savepoints = tmp.resolve(run).resolve("savepoints");
    job.stopWithSavepoint(true, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
        .get(2, TimeUnit.MINUTES);
    job.getJobExecutionResult().get(2, TimeUnit.MINUTES);
    RunOutputs out = stack.outputs(c);

    // The lake: every change of both batches exactly once; the second replay added nothing.
    Map<String, Long> lake = new HashMap<>();
    List<LakeFiles.Row> rows =
        out.lakeRows().stream().filter(r -> r.pathTenant().equals(NO_POLICY)).toList();
    rows.forEach(r -> lake.merge(changeOf(r), 1L, Long::sum));
    Map<String, Long> added = new TreeMap<>();
    lake.forEach(
        (change, n) -> {
          if (n > afterFirstReplay.getOrDefault(change, 0L)) {
            added.put(change, n - afterFirstReplay.getOrDefault(change, 0L));
          }
        });
    assertThat(added)
        .as(
            "lake rows of %s added by the second replay (replayed origins are remembered)",
            NO_POLICY)
        .isEmpty();
    Map<String, Long> notOnce = new TreeMap<>();
    lake.forEach(
        (change, n) -> {
          if (n != 1) {
            notOnce.put(change, n);
          }
        });
    assertThat(notOnce).as("changes of %s in the lake more than once", NO_POLICY).isEmpty();
    assertThat(lake.keySet()).isEqualTo(expected.keySet());

    // Each row redacted by the published policy; late exactly where the replay semantics say: an
    // append-only change is applied (its window is open), a mutable row's change older than the
    // row's state goes to the lake only.
    Map<Long, Long> onTime = new TreeMap<>();
    long late = 0;
    Map<String, Integer> replayedMutable = new TreeMap<>();
    try (KeyProvider keys = stack.openKeys()) {
      for (LakeFiles.Row row : rows) {
        GeneratedRecord r = expected.get(changeOf(row));
        Truth.Valid v = valid(r);
        boolean wasReplayed = replayed.contains(changeOf(row));
        boolean isLate = (Boolean) row.record().get("late");
        String where =
            (wasReplayed ? "replayed " : "batch 2 ") + changeOf(row) + ": " + row.record();
        assertThat(row.record().get("tenant_id").toString()).as(where).isEqualTo(NO_POLICY);
        assertThat(row.record().get("policy_version")).as(where).isEqualTo(1L);
        if (namesItsTenant(r, v)) {
          assertThat(columns(row))
              .as(where)
              .isEqualTo(redacted(v.table(), v.op().equals("d") ? v.before() : v.after(), keys));
        } else {
          // A key-only delete exports the image the job holds of its row (README), which after an
          // out-of-order replay can be an earlier image of that row.
          assertThat(
                  both.stream()
                      .filter(o -> row(valid(o)).equals(row(v)) && valid(o).after() != null)
                      .map(o -> redacted(v.table(), valid(o).after(), keys)))
              .as(where)
              .contains(columns(row));
        }
        if (!wasReplayed || v.table().equals("page_views")) {
          assertThat(isLate).as(where).isFalse();
        } else if (heldBeforeReplay.contains(row(v))) {
          assertThat(isLate).as("older than its row's state: " + where).isTrue();
          replayedMutable.merge("onto a row the job held", 1, Integer::sum);
        } else if (!keyOnlyDeleted.contains(row(v))) {
          assertThat(isLate).as("replayed in order onto an unknown row: " + where).isFalse();
          replayedMutable.merge("onto an unknown row", 1, Integer::sum);
        }
        if (isLate) {
          late++;
        } else {
          onTime.merge(spec.windowStart(eventTime(row)), 1L, Long::sum);
        }
      }
    }
    assertThat(replayedMutable)
        .as("replayed changes of mutable rows")
        .containsOnlyKeys("onto a row the job held", "onto an unknown row");

    // Receipts: every change applied is counted in its window, every one sent to the lake only
    // counted late, every record of the second replay skipped as a duplicate.
    List<JsonNode> receipts =
        out.auditEvents().stream()
            .filter(e -> e.path("type").asText().equals("WINDOW_RECEIPT"))
            .filter(e -> e.path("tenant_id").asText().equals(NO_POLICY))
            .toList();
    Map<Long, Long> eventsIn = new TreeMap<>();
    long duplicates = 0;
    long quarantined = 0;
    long lateCounted = 0;
    for (JsonNode r : receipts) {
      if (r.path("events_in").asLong() > 0) {
        eventsIn.put(
            Instant.parse(r.path("window_start").asText()).toEpochMilli(),
            r.path("events_in").asLong());
      }
      duplicates += r.path("duplicates_skipped").asLong();
      quarantined += r.path("quarantined").asLong();
      lateCounted += r.path("late_events").asLong();
    }
    assertThat(eventsIn).as("events_in of %s's receipts", NO_POLICY).isEqualTo(onTime);
    assertThat(duplicates).as("duplicates_skipped: the second replay").isEqualTo(noPolicy);
    assertThat(quarantined).as("quarantined: batch 1").isEqualTo(noPolicy);
    assertThat(lateCounted).as("late_events").isEqualTo(late);
    assertThat(out.auditEvents())
        .filteredOn(e -> e.path("type").asText().equals("LATE_EVENT"))
        .filteredOn(e -> e.path("tenant_id").asText().equals(NO_POLICY))
        .hasSize((int) late);

    // The warehouse counts every page view of both batches once, replayed ones included.
    Map<Long, Long> pageViews = new TreeMap<>();
    for (GeneratedRecord r : expected.values()) {
      if (valid(r).table().equals("page_views")) {
        pageViews.merge(spec.windowStart(valid(r).eventTimeMillis()), 1L, Long::sum);
      }
    }
    Map<Long, Long> counted = new TreeMap<>();
    try (Connection conn = stack.warehouse().connect();
        PreparedStatement s =
            conn.prepareStatement(
                "SELECT window_start, sum(value) FROM tenant_export.metric_rollup"
                    + " WHERE tenant_id = ? AND metric = 'page_view_count' GROUP BY window_start")) {
      s.setString(1, NO_POLICY);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          counted.put(
              rs.getObject(1, OffsetDateTime.class).toInstant().toEpochMilli(), rs.getLong(2));
        }
      }
    }
    assertThat(counted).as("page_view_count of %s per window", NO_POLICY).isEqualTo(pageViews);

    // Nothing of the tenant was quarantined again.
    assertThat(out.quarantineRecords())
        .filteredOn(q -> q.path("tenant_id").asText().equals(NO_POLICY))
        .hasSize((int) noPolicy)
        .allSatisfy(q -> assertThat(q.path("reason_code").asText()).isEqualTo("NO_POLICY"));
  }

  /** The valid changes of {@code tenant} among {@code records}. */
  private static List<GeneratedRecord> validOf(String tenant, List<GeneratedRecord> records) {
    return records.stream()
        .filter(r -> r.truth() instanceof Truth.Valid v && v.tenantId().equals(tenant))
        .toList();
  }

  private static Truth.Valid valid(GeneratedRecord r) {
    return (Truth.Valid) r.truth();
  }

  /**
   * A change as {@code table|row key|op|source position}, the position being a PostgreSQL LSN or a
   * MySQL binlog position and row: what tells two changes apart, in the truth and in the lake.
   */
  private static String changeOf(GeneratedRecord r) {
    // table@pg:lsn=<lsn>#<key>, invoices@mysql:<file>:<pos>:<row>#<key>
    String identity = valid(r).identity();
    String[] at = identity.substring(identity.indexOf('@') + 1, identity.indexOf('#')).split(":");
    String position =
        at[0].equals("pg")
            ? "pg:" + at[1].substring("lsn=".length())
            : "mysql:" + at[2] + ":" + at[3];
    return row(valid(r)) + "|" + valid(r).op() + "|" + position;
  }

  private static String changeOf(LakeFiles.Row row) {
    // pg:<last commit lsn>/<lsn>/<order>, mysql:<binlog file index>/<pos>/<row>
    String[] at = row.record().get("source_position").toString().split("[:/]");
    String position = at[0].equals("pg") ? "pg:" + at[2] : "mysql:" + at[2] + ":" + at[3];
    String table = row.record().get("source_table").toString();
    return table
        + "|"
        + rowKey(table, columns(row))
        + "|"
        + row.record().get("op")
        + "|"
        + position;
  }

  /** The changes of {@code tenant} in the lake of {@code run}, with how often each is there. */
  private static Map<String, Long> lakeChanges(String run, String tenant) {
    Map<String, Long> changes = new HashMap<>();
    for (LakeFiles.Row row : LakeFiles.readAll(lake(run))) {
      if (row.pathTenant().equals(tenant)) {
        changes.merge(changeOf(row), 1L, Long::sum);
      }
    }
    return changes;
  }

  /** Waits until every one of {@code changes} of {@link #NO_POLICY} is in the lake. */
  private static void awaitLakeChanges(Updates u, String run, String what, Set<String> changes)
      throws Exception {
    u.await(
        what + " in the lake",
        () -> {
          Set<String> missing = new TreeSet<>(changes);
          missing.removeAll(lakeChanges(run, NO_POLICY).keySet());
          return missing.isEmpty() ? null : missing.size() + " changes missing, e.g. " + missing;
        });
  }

  /** A row image as {@link #PUBLISHED_LATER} exports it: every column of the table, in the lake. */
  private static Map<String, String> redacted(
      String table, Map<String, String> image, KeyProvider keys) {
    TableSpec t = spec.table(table);
    Set<String> structural = new HashSet<>(t.key());
    structural.add(spec.tenantColumn());
    structural.add(t.eventTime());
    Map<String, String> out = new HashMap<>();
    for (String column : t.columns().keySet()) {
      String value = image.get(column);
      Action action =
          structural.contains(column)
              ? Action.KEEP
              : PUBLISHED_LATER.get(table).getOrDefault(column, Action.DROP);
      out.put(
          column,
          value == null || action.kind().equals("drop")
              ? null
              : action.kind().equals("keep")
                  ? value
                  : derive(NO_POLICY, action, Set.of(value), keys).iterator().next());
    }
    return out;
  }

  /**
   * The settings of the job configured by {@code c} as an operator's job file, for the command-line
   * tool, which loads it as the job does. The run's spec differs from the deployed one only in its
   * allowed lateness, which the tool does not use.
   */
  private static Path jobFile(JobConfig c, Path file) throws IOException {
    Map<String, Object> kafka = new LinkedHashMap<>();
    kafka.put("bootstrap_servers", c.bootstrapServers());
    kafka.put("topics", c.topics());
    kafka.put("group_id", c.groupId());
    kafka.put("quarantine_topic", c.quarantineTopic());
    kafka.put("audit_topic", c.auditTopic());
    kafka.put("transactional_id_prefix", c.transactionalIdPrefix());
    Map<String, Object> keys = new LinkedHashMap<>(c.keyOptions());
    keys.put("quarantine_key", c.quarantineKeyId());
    keys.put("event_id_key", c.eventIdKeyId());
    Map<String, Object> job = new LinkedHashMap<>();
    job.put("job", Map.of("name", c.jobName()));
    job.put("spec", Path.of("../export-spec.yaml").toAbsolutePath().normalize().toString());
    job.put("kafka", kafka);
    job.put("lake", Map.of("path", c.lakePath()));
    job.put("warehouse", Map.of("url", c.warehouseUrl(), "user", c.warehouseUser()));
    job.put("policy", Map.of("folder", c.policyFolder(), "control_topic", c.policyControlTopic()));
    job.put("keys", keys);
    Files.writeString(file, new ObjectMapper(new YAMLFactory()).writeValueAsString(job));
    return file;
  }

  /**
   * Runs {@code quarantine replay} of {@link #NO_POLICY}'s NO_POLICY records with {@code jobFile}
   * and checks that it replayed {@code count} records and printed no personal data.
   */
  private static void replayNoPolicyRecords(Path jobFile, long count) {
    String[] args = {
      "quarantine",
      "replay",
      "--config",
      jobFile.toString(),
      "--tenant",
      NO_POLICY,
      "--reason",
      "NO_POLICY"
    };
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        TenantExportCli.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            Map.of());
    String printed = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    assertThat(status).as(printed).isEqualTo(TenantExportCli.OK);
    assertThat(printed)
        .contains(
            "replayed " + count + " record(s)",
            "by reason: NO_POLICY " + count,
            "by tenant: tenant " + NO_POLICY + " " + count);
    assertThat(new OutputScanner(MARKER).scan("the replay tool's output", printed)).isEmpty();
  }

  // ---- shared

  /** Five tenants (four with a policy), skewed; each test sets its own seed and skew. */
  private static TrafficGenerator.Config.Builder skewed() {
    return TrafficGenerator.Config.builder(start).tenants(GENERATED.size()).quietTenants(0);
  }

  private static Path lake(String run) {
    return stack.lake(run);
  }

  /** The committed records of a topic the job writes JSON to (audit, quarantine). */
  private static List<JsonNode> committedJson(String topic) {
    List<JsonNode> records = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r :
        stack.kafka().readAll(topic, true, Duration.ofSeconds(30))) {
      try {
        records.add(JSON.readTree(r.value()));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return records;
  }

  /** A test's own copy of a Debezium topic. */
  private static String topic(String run, String sourceTopic) {
    return Sources.of(run).topic(sourceTopic);
  }

  private static void publishPolicy(JobConfig c, String publishedFor, String text) {
    stack
        .kafka()
        .produce(
            List.of(
                new ProducerRecord<>(
                    c.policyControlTopic(),
                    0,
                    publishedFor.getBytes(StandardCharsets.UTF_8),
                    text.getBytes(StandardCharsets.UTF_8))));
  }

  /**
   * Run {@code run} on its own copy of the input, writing to the warehouse as the export login
   * (under row-level security, as in production); its audit and quarantine topics are created up
   * front.
   */
  private static JobConfig config(String run, boolean bounded, String idleTimeout) {
    JobConfig c = stack.config(run, Sources.of(run), bounded, idleTimeout, stack.writer());
    stack.kafka().createTopic(c.auditTopic(), 1);
    stack.kafka().createTopic(c.quarantineTopic(), 1);
    return c;
  }

  private static Map<String, String> columns(LakeFiles.Row row) {
    Map<String, String> out = new HashMap<>();
    ((Map<?, ?>) row.record().get("columns"))
        .forEach((k, v) -> out.put(k.toString(), v == null ? null : v.toString()));
    return out;
  }

  private static long eventTime(LakeFiles.Row row) {
    return RunOutputs.eventTime(row.record());
  }

  private static List<String> list(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /**
   * Everything this JVM logs from now on, at INFO and above (Flink's, Kafka's and PostgreSQL
   * fixtures' logs included), into a file; also a copy of standard output and error. The module's
   * log configuration shows errors only, so the root logger is lowered to INFO for the capture
   * while the appenders it already had keep showing what they showed. {@link #close} restores it.
   */
  private static final class LogCapture implements AutoCloseable {
    private static final String NAME = "governance-it-capture";

    private final Path directory;
    private final Path file;
    private final LoggerContext context;
    private final Appender appender;
    private final Level rootLevel;
    private final Map<String, AppenderRef> rootRefs = new LinkedHashMap<>();
    private final PrintStream stdout = System.out;
    private final PrintStream stderr = System.err;
    private final OutputStream consoleCopy;

    private LogCapture(Path directory) throws IOException {
      this.directory = Files.createDirectories(directory);
      this.file = directory.resolve("log4j.log");
      this.consoleCopy = Files.newOutputStream(directory.resolve("stdout-stderr.log"));
      this.context = LoggerContext.getContext(false);
      var config = context.getConfiguration();
      appender =
          FileAppender.newBuilder()
              .setName(NAME)
              .withFileName(file.toString())
              .withAppend(false)
              .withImmediateFlush(true)
              .setLayout(
                  PatternLayout.newBuilder()
                      .withPattern("%d{HH:mm:ss.SSS} %-5level [%t] %c - %msg%n")
                      .withConfiguration(config)
                      .build())
              .setConfiguration(config)
              .build();
      appender.start();
      config.addAppender(appender);
      LoggerConfig root = config.getRootLogger();
      rootLevel = root.getLevel();
      for (AppenderRef ref : root.getAppenderRefs()) {
        rootRefs.put(ref.getRef(), ref);
      }
      for (Map.Entry<String, Appender> a : Map.copyOf(root.getAppenders()).entrySet()) {
        AppenderRef ref = rootRefs.get(a.getKey());
        Level shown = ref == null || ref.getLevel() == null ? rootLevel : ref.getLevel();
        if (shown.isLessSpecificThan(rootLevel)) {
          shown = rootLevel;
        }
        root.removeAppender(a.getKey());
        root.addAppender(a.getValue(), shown, ref == null ? null : ref.getFilter());
      }
      root.addAppender(appender, Level.INFO, null);
      root.setLevel(Level.INFO);
      context.updateLoggers();
      System.setOut(new PrintStream(new Tee(stdout, consoleCopy), true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(new Tee(stderr, consoleCopy), true, StandardCharsets.UTF_8));
    }

    static LogCapture start(Path directory) throws IOException {
      return new LogCapture(directory);
    }

    Path directory() {
      return directory;
    }

    Path file() {
      return file;
    }

    @Override
    public void close() {
      System.setOut(stdout);
      System.setErr(stderr);
      var config = context.getConfiguration();
      LoggerConfig root = config.getRootLogger();
      root.removeAppender(NAME);
      for (Map.Entry<String, Appender> a : Map.copyOf(root.getAppenders()).entrySet()) {
        AppenderRef ref = rootRefs.get(a.getKey());
        root.removeAppender(a.getKey());
        root.addAppender(
            a.getValue(),
            ref == null ? null : ref.getLevel(),
            ref == null ? null : ref.getFilter());
      }
      root.setLevel(rootLevel);
      context.updateLoggers();
      appender.stop();
      try {
        consoleCopy.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** Writes to the console and to the copy. */
    private static final class Tee extends OutputStream {
      private final OutputStream console;
      private final OutputStream copy;

      Tee(OutputStream console, OutputStream copy) {
        this.console = console;
        this.copy = copy;
      }

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        console.write(b, off, len);
        synchronized (copy) {
          copy.write(b, off, len);
        }
      }

      @Override
      public void flush() throws IOException {
        console.flush();
        synchronized (copy) {
          copy.flush();
        }
      }
    }
  }
}
