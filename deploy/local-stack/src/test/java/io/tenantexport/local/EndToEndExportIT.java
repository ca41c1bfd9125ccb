package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.gen.Truth;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.policy.PolicyFolder;
import io.tenantexport.common.policy.Redactor;
import io.tenantexport.common.policy.TenantPolicy;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.PipelineIo;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import io.tenantexport.local.ItStack.Sources;
import io.tenantexport.local.inspect.LakeFiles;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole job on real components: an embedded KRaft Kafka broker, an embedded PostgreSQL, a Flink
 * MiniCluster at parallelism 2 (two TaskManagers), Parquet read back with parquet-avro's own
 * reader.
 *
 * <p>One generated input (24 tenants with skew, three tables, inserts, updates and deletes with and
 * without before images, snapshot rows, duplicates, replayed slices, late and malformed records) is
 * exported by a golden run; its outputs must equal a reference computed from the generator's ground
 * truth; a run with an injected failure and a run that re-reads an already processed slice after a
 * savepoint must equal the golden run exactly, per tenant.
 */
class EndToEndExportIT {
  private static final int RECORDS = 15_000;

  /**
   * Lateness above the input's event-time span: no normal change is late, whatever the
   * interleaving.
   */
  private static final String LATENESS = "60m";

  @RegisterExtension static final MiniClusterExtension FLINK = ItStack.miniCluster();

  @TempDir static Path tmp;

  private static ItStack stack;
  private static ExportSpec spec;
  private static List<GeneratedRecord> input;
  private static Reference reference;
  private static RunOutputs golden;
  private static Map<TenantId, TenantPolicy> policies;

  /** The example policies the job is deployed with. */
  private static final Path POLICIES = Path.of("../policies");

  @BeforeAll
  static void exportGoldenRun() throws Exception {
    spec = ItStack.spec(LATENESS);
    stack = ItStack.start(tmp, spec, POLICIES);

    stack.createTopics(Sources.AS_GENERATED);
    input =
        new TrafficGenerator(TrafficGenerator.Config.defaults(ItStack.inputStart())).take(RECORDS);
    produce(input);
    policies = PolicyFolder.load(POLICIES, spec);
    KeyProvider keys = stack.openKeys();
    Redactor redactor = new Redactor(spec, keys);
    reference =
        new Reference(
            input,
            spec,
            (tenant, table, image) ->
                redactor.apply(policies.get(TenantId.of(tenant, "reference")), table, image));

    golden = run("golden", Function.identity(), true);
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  private static void produce(List<GeneratedRecord> records) {
    stack.produce(Sources.AS_GENERATED, new TenantRouting(), records);
  }

  private static JobConfig config(String run, boolean bounded) {
    return stack.config(run, Sources.AS_GENERATED, bounded, "1h", stack.writer());
  }

  /**
   * One bounded run over the whole input, its source wrapped by {@code wrap}; returns its outputs.
   */
  private static RunOutputs run(
      String name,
      Function<Source<RawRecord, ?, ?>, Source<RawRecord, ?, ?>> wrap,
      boolean noRestart)
      throws Exception {
    return run(name, wrap, noRestart ? new Configuration() : restartable());
  }

  private static RunOutputs run(
      String name,
      Function<Source<RawRecord, ?, ?>, Source<RawRecord, ?, ?>> wrap,
      Configuration extra)
      throws Exception {
    stack.truncateWarehouse();
    JobConfig c = config(name, true);
    StreamExecutionEnvironment env = ItStack.env(c, extra);
    PipelineIo real = ProductionIo.create(c);
    TenantExportPipeline.build(
        env,
        c,
        new PipelineIo(
            wrap.apply(real.cdcSource()),
            real.policySource(),
            real.lake(),
            real.warehouse(),
            real.audit(),
            real.quarantine()));
    env.execute(c.jobName());
    return stack.outputs(c);
  }

  private static Configuration restartable() {
    Configuration conf = new Configuration();
    conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
    return conf;
  }

  @Test
  void goldenRunEqualsTheReferenceComputedFromTheGroundTruth() {
    assertThat(reference.lake).hasSizeGreaterThanOrEqualTo(20);
    // Lake: every valid change exactly once (late ones flagged), per tenant, after projection.
    Map<String, List<String>> lakeWithoutIds = new TreeMap<>();
    for (LakeFiles.Row r : golden.lakeRows()) {
      lakeWithoutIds
          .computeIfAbsent(r.pathTenant(), t -> new ArrayList<>())
          .add(RunOutputs.lakeLine(r.record(), false));
    }
    lakeWithoutIds.values().forEach(l -> l.sort(null));
    assertThat(lakeWithoutIds.keySet()).isEqualTo(reference.lake.keySet());
    for (String tenant : reference.lake.keySet()) {
      assertThat(lakeWithoutIds.get(tenant))
          .as("lake rows of %s", tenant)
          .isEqualTo(reference.lake.get(tenant));
    }
    // Warehouse: every rollup row of every tenant, value, row count and revision.
    assertThat(golden.warehouse().keySet()).isEqualTo(reference.warehouse.keySet());
    for (String tenant : reference.warehouse.keySet()) {
      assertThat(golden.warehouse().get(tenant))
          .as("warehouse rows of %s", tenant)
          .isEqualTo(reference.warehouse.get(tenant));
    }
  }

  @Test
  void lakeFilesHoldOnlyTheirPartitionsTenantAndDate() {
    assertThat(golden.lakeRows())
        .isNotEmpty()
        .allSatisfy(
            r -> {
              assertThat(r.record().get("tenant_id").toString()).isEqualTo(r.pathTenant());
              Instant et = (Instant) r.record().get("event_time");
              assertThat(et.atZone(ZoneOffset.UTC).toLocalDate().toString())
                  .isEqualTo(r.pathDate());
              // Every column of the spec, each as the tenant's policy left it (null when dropped).
              assertThat(
                      ((Map<?, ?>) r.record().get("columns"))
                          .keySet().stream().map(Object::toString).toList())
                  .containsExactlyInAnyOrderElementsOf(
                      spec.table(r.record().get("source_table").toString()).columns().keySet());
              assertThat(r.record().get("policy_version")).isEqualTo(1L);
            });
    assertThat(golden.lakeRows())
        .extracting(r -> r.record().get("event_id").toString())
        .doesNotHaveDuplicates();
  }

  @Test
  void quarantineHoldsExactlyTheMalformedRecordsWithTheirReasonsAndBytes() {
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
      for (JsonNode q : golden.quarantineRecords()) {
        actual.add(RunOutputs.quarantineLine(q, keys, "origin_topic", "reason_code"));
        assertThat(q.path("reason").asText()).isNotBlank();
      }
    }
    assertThat(actual).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void auditStreamHasAReceiptPerWindowAndAnEventPerQuarantineAndLateChangeWithUniqueIds()
      throws Exception {
    List<JsonNode> events = golden.auditEvents();
    assertThat(events).extracting(e -> e.path("event_id").asText()).doesNotHaveDuplicates();
    assertThat(events).filteredOn(e -> e.path("type").asText().equals("JOB_START")).hasSize(1);
    assertThat(events)
        .filteredOn(e -> e.path("type").asText().equals("QUARANTINE"))
        .hasSize(reference.malformed.size());

    Map<String, Long> late = new TreeMap<>();
    Map<String, Map<Long, Long>> eventsIn = new TreeMap<>();
    Map<String, Long> duplicates = new TreeMap<>();
    Map<String, Long> quarantined = new TreeMap<>();
    Map<String, Long> lateInReceipts = new TreeMap<>();
    for (JsonNode e : events) {
      String tenant = e.path("tenant_id").asText(null);
      switch (e.path("type").asText()) {
        case "LATE_EVENT" -> late.merge(tenant, 1L, Long::sum);
        case "WINDOW_RECEIPT" -> {
          long ws = Instant.parse(e.path("window_start").asText()).toEpochMilli();
          if (e.path("events_in").asLong() > 0) {
            eventsIn
                .computeIfAbsent(tenant, t -> new TreeMap<>())
                .put(ws, e.path("events_in").asLong());
          }
          duplicates.merge(tenant, e.path("duplicates_skipped").asLong(), Long::sum);
          quarantined.merge(tenant, e.path("quarantined").asLong(), Long::sum);
          lateInReceipts.merge(tenant, e.path("late_events").asLong(), Long::sum);
          assertThat(e.path("export_version").asInt()).isEqualTo(spec.version());
          assertThat(e.path("rollup_checksum").asText()).hasSize(32);
        }
        default -> {}
      }
    }
    assertThat(eventsIn).isEqualTo(reference.eventsIn);
    assertThat(late).isEqualTo(reference.late);
    duplicates.values().removeIf(v -> v == 0);
    quarantined.values().removeIf(v -> v == 0);
    assertThat(duplicates).isEqualTo(reference.duplicates);
    assertThat(quarantined).isEqualTo(reference.quarantinedWithTenant);
    // Every window is still open when a late change arrives (lateness exceeds the input's span), so
    // each late change is counted in a receipt of the final flush.
    lateInReceipts.values().removeIf(v -> v == 0);
    assertThat(lateInReceipts).isEqualTo(reference.late).isNotEmpty();
  }

  @Test
  void failureAfterACheckpointChangesNoOutput() throws Exception {
    FailOnceAfterCheckpointSource.FAILED.set(false);
    RunOutputs failed =
        run("failover", s -> new FailOnceAfterCheckpointSource<>(s, 2, 1_000), false);
    assertThat(FailOnceAfterCheckpointSource.FAILED).as("the failure was injected").isTrue();
    assertSameOutputs(failed, golden);
  }

  @Test
  void reReadingAnAlreadyExportedSliceChangesNoOutput() throws Exception {
    stack.truncateWarehouse();
    Path savepoints = tmp.resolve("savepoints");
    JobConfig c = config("replay", false);
    StreamExecutionEnvironment env = ItStack.env(c, new Configuration());
    TenantExportPipeline.build(env, c, ProductionIo.create(c));
    JobClient first = env.executeAsync(c.jobName());
    stack.awaitCommitted(c);
    // Drain: every window closes, exactly as at the end of a bounded input.
    String savepoint =
        first
            .stopWithSavepoint(true, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
            .get(2, TimeUnit.MINUTES);
    first.getJobExecutionResult().get(2, TimeUnit.MINUTES);

    Map<TopicPartition, Long> before = stack.endOffsets(c);
    List<GeneratedRecord> slice = input.subList(2_000, 5_000);
    produce(slice);

    Configuration restore = new Configuration();
    restore.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
    StreamExecutionEnvironment env2 = ItStack.env(c, restore);
    TenantExportPipeline.build(env2, c, ProductionIo.create(c));
    JobClient second = env2.executeAsync(c.jobName());
    stack.awaitCommitted(c);
    second
        .stopWithSavepoint(true, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
        .get(2, TimeUnit.MINUTES);
    second.getJobExecutionResult().get(2, TimeUnit.MINUTES);

    RunOutputs replayed = stack.outputs(c);
    // Malformed records of the slice are new records at new offsets: quarantined (and audited)
    // again,
    // nothing else. Everything else must be exactly the golden run.
    long malformedInSlice =
        slice.stream().filter(r -> r.truth() instanceof Truth.Malformed).count();
    List<JsonNode> newQuarantine =
        replayed.quarantineRecords().stream()
            .filter(
                q ->
                    q.path("origin_offset").asLong()
                        >= before.get(
                            new TopicPartition(
                                q.path("origin_topic").asText(),
                                q.path("origin_partition").asInt())))
            .toList();
    assertThat(newQuarantine).hasSize((int) malformedInSlice);
    List<String> oldQuarantine =
        replayed.quarantineRecords().stream()
            .filter(q -> !newQuarantine.contains(q))
            .map(JsonNode::toString)
            .sorted()
            .toList();
    assertThat(oldQuarantine).isEqualTo(golden.quarantine());
    Map<String, List<String>> oldAudit =
        RunOutputs.auditLines(
            replayed.auditEvents(),
            a ->
                !(a.path("type").asText().equals("QUARANTINE")
                    && isAtOrAfter(a.path("origin").asText(), before)));
    assertThat(replayed.lake()).isEqualTo(golden.lake());
    assertThat(replayed.warehouse()).isEqualTo(golden.warehouse());
    assertThat(oldAudit).isEqualTo(golden.audit());
    assertThat(replayed.auditEvents())
        .filteredOn(e -> e.path("type").asText().equals("JOB_START"))
        .hasSize(1);
  }

  /** Whether an origin {@code topic/partition@offset} lies at or after {@code offsets}. */
  private static boolean isAtOrAfter(String origin, Map<TopicPartition, Long> offsets) {
    int at = origin.lastIndexOf('@');
    int slash = origin.lastIndexOf('/', at);
    TopicPartition tp =
        new TopicPartition(
            origin.substring(0, slash), Integer.parseInt(origin.substring(slash + 1, at)));
    return Long.parseLong(origin.substring(at + 1)) >= offsets.get(tp);
  }

  private static void assertSameOutputs(RunOutputs actual, RunOutputs expected) {
    assertThat(actual.lake().keySet()).isEqualTo(expected.lake().keySet());
    for (String tenant : expected.lake().keySet()) {
      assertThat(actual.lake().get(tenant))
          .as("lake of %s", tenant)
          .isEqualTo(expected.lake().get(tenant));
    }
    for (String tenant : expected.warehouse().keySet()) {
      assertThat(actual.warehouse().get(tenant))
          .as("warehouse of %s", tenant)
          .isEqualTo(expected.warehouse().get(tenant));
    }
    assertThat(actual.warehouse().keySet()).isEqualTo(expected.warehouse().keySet());
    for (String tenant : expected.audit().keySet()) {
      assertThat(actual.audit().get(tenant))
          .as("audit of %s", tenant)
          .isEqualTo(expected.audit().get(tenant));
    }
    assertThat(actual.audit().keySet()).isEqualTo(expected.audit().keySet());
    assertThat(actual.quarantine()).isEqualTo(expected.quarantine());
    assertThat(actual.auditEvents())
        .filteredOn(e -> e.path("type").asText().equals("JOB_START"))
        .hasSize(1);
  }
}
