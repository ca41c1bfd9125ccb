package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.spec.TableSpec;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.io.TenantDateBucketAssigner;
import io.tenantexport.jobs.operators.LakeFileBuffer;
import io.tenantexport.jobs.operators.Policies;
import io.tenantexport.jobs.operators.ScopeDeduplicator;
import io.tenantexport.jobs.operators.TenantWindowAggregator;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import io.tenantexport.schemas.LakeBuffer;
import io.tenantexport.schemas.LakeRecord;
import io.tenantexport.schemas.PolicyDocument;
import io.tenantexport.schemas.ScopeState;
import io.tenantexport.schemas.TenantClock;
import io.tenantexport.schemas.TenantWindow;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.runtime.OperatorIDPair;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.state.api.functions.KeyedStateReaderFunction;
import org.apache.flink.state.api.runtime.SavepointLoader;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Savepoints of earlier versions restore into this one. Every fixture under {@code
 * src/test/resources/savepoints/} (written by {@link SavepointFixture}, one per release whose state
 * layout changed) is read with the state processor API through the descriptors and Avro types the
 * operators use now, and every operator state in it must belong to an operator of the current
 * graph, so a restore needs no {@code allowNonRestoredState}. A renamed state, an Avro field
 * renamed without an alias, a changed key type or a changed uid fails here, not at an operator's
 * restore.
 */
class SavepointCompatibilityTest {
  private static final Path FIXTURES = SavepointFixture.FIXTURES;

  /** The operators that keep state of their own (the rest hold connector state only). */
  private static final List<String> STATEFUL_UIDS =
      List.of("decode", "dedupe", "tenant-windows", "lake-buffer");

  static List<Path> fixtures() throws IOException {
    try (Stream<Path> s = Files.list(FIXTURES)) {
      return s.filter(p -> Files.isRegularFile(p.resolve("_metadata"))).sorted().toList();
    }
  }

  @Test
  void thereIsAFixture() throws IOException {
    assertThat(fixtures()).isNotEmpty();
  }

  @ParameterizedTest
  @MethodSource("fixtures")
  void everyOperatorStateBelongsToAnOperatorOfTheCurrentGraph(Path fixture) throws Exception {
    CheckpointMetadata metadata = SavepointLoader.loadSavepointMetadata(fixture.toString());
    JobConfig config = dummyConfig();
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    TenantExportPipeline.configure(env, config);
    TenantExportPipeline.build(env, config, ProductionIo.create(config));
    JobGraph graph = env.getStreamGraph().getJobGraph();
    Map<OperatorID, String> graphOperators = new HashMap<>();
    for (JobVertex v : graph.getVertices()) {
      for (OperatorIDPair ids : v.getOperatorIDs()) {
        graphOperators.put(ids.getGeneratedOperatorID(), v.getName());
        ids.getUserDefinedOperatorID().ifPresent(id -> graphOperators.put(id, v.getName()));
      }
    }

    List<String> unmatched = new ArrayList<>();
    for (OperatorState s : metadata.getOperatorStates()) {
      if (!graphOperators.containsKey(s.getOperatorID())) {
        unmatched.add(s.getOperatorID() + " (" + s.getStateSize() + " bytes of state)");
      }
      assertThat(s.getMaxParallelism())
          .as("max parallelism of operator %s", s.getOperatorID())
          .isEqualTo(config.maxParallelism());
    }
    assertThat(unmatched)
        .as("operator states of %s that no operator of the current graph takes", fixture)
        .isEmpty();
    Set<OperatorID> inSavepoint =
        metadata.getOperatorStates().stream()
            .map(OperatorState::getOperatorID)
            .collect(Collectors.toSet());
    for (String uid : STATEFUL_UIDS) {
      OperatorID id = OperatorIdentifier.forUid(uid).getOperatorId();
      assertThat(graphOperators).as("operator with uid %s in the graph", uid).containsKey(id);
      assertThat(inSavepoint).as("state of uid %s in %s", uid, fixture).contains(id);
    }
  }

  @ParameterizedTest
  @MethodSource("fixtures")
  void everyStateReadsWithTheCurrentDescriptorsAndTypes(Path fixture) throws Exception {
    ExportSpec spec = deployedSpec();
    Configuration conf = new Configuration();
    // As in the job: a type that would need Kryo fails instead of being read some other way.
    conf.set(PipelineOptions.GENERIC_TYPES, false);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
    env.setParallelism(2);
    SavepointReader savepoint = SavepointReader.read(env, fixture.toString());

    DataStream<String> scopes =
        savepoint.readKeyedState(
            OperatorIdentifier.forUid("dedupe"), new ScopeReader(spec), Types.STRING, Types.STRING);
    DataStream<String> windows =
        savepoint.readKeyedState(
            OperatorIdentifier.forUid("tenant-windows"),
            new TenantReader(),
            Types.STRING,
            Types.STRING);
    DataStream<String> lakeRows =
        savepoint.readKeyedState(
            OperatorIdentifier.forUid("lake-buffer"),
            new LakeBufferReader(),
            Types.STRING,
            Types.STRING);
    DataStream<String> all = scopes.union(windows, lakeRows);
    MapStateDescriptor<String, PolicyDocument> policies = Policies.STATE;
    policies.initializeSerializerUnlessSet(new ExecutionConfig());
    for (String uid : List.of("decode", "dedupe")) {
      all =
          all.union(
              savepoint
                  .readBroadcastState(
                      OperatorIdentifier.forUid(uid),
                      policies.getName(),
                      Types.STRING,
                      new AvroTypeInfo<>(PolicyDocument.class),
                      policies.getKeySerializer(),
                      policies.getValueSerializer())
                  .map((Tuple2<String, PolicyDocument> p) -> policyLine(uid, p))
                  .returns(Types.STRING));
    }
    List<String> lines = new ArrayList<>();
    all.executeAndCollect().forEachRemaining(lines::add);

    Map<String, Long> counts = new TreeMap<>();
    for (String line : lines) {
      counts.merge(line.substring(0, line.indexOf(' ')), 1L, Long::sum);
    }
    for (TableSpec t : spec.tables().values()) {
      assertThat(counts.getOrDefault(ScopeDeduplicator.stateName(t.name()), 0L))
          .as("dedupe scopes of table %s in %s (%s)", t.name(), fixture, counts)
          .isPositive();
      if (!t.isMutable()) {
        assertThat(counts.getOrDefault(ScopeDeduplicator.tiesStateName(t.name()), 0L))
            .as("tie digests of table %s in %s (%s)", t.name(), fixture, counts)
            .isPositive();
      }
    }
    assertThat(counts.getOrDefault(TenantWindowAggregator.CLOCK_STATE, 0L))
        .as("tenant clocks in %s", fixture)
        .isPositive();
    assertThat(counts.getOrDefault(TenantWindowAggregator.WINDOWS_STATE, 0L))
        .as("open windows in %s", fixture)
        .isPositive();
    assertThat(counts.getOrDefault(LakeFileBuffer.ROWS_STATE, 0L))
        .as("lake rows waiting for their file in %s", fixture)
        .isPositive();
    assertThat(counts.getOrDefault("policies@decode", 0L))
        .as("broadcast policies of decode in %s", fixture)
        .isPositive();
    assertThat(counts.getOrDefault("policies@dedupe", 0L))
        .as("broadcast policies of dedupe in %s", fixture)
        .isPositive();
  }

  /** The deployed export spec: table names and modes decide the dedupe operator's states. */
  private static ExportSpec deployedSpec() throws IOException {
    return ExportSpec.parse(
        Files.readString(Path.of("../export-spec.yaml")), "deploy/export-spec.yaml");
  }

  /** A valid configuration pointing nowhere: only the graph is built from it. */
  private static JobConfig dummyConfig() throws IOException {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("kafka.bootstrap_servers", "127.0.0.1:9");
    m.put("kafka.topics", String.join(",", TrafficGenerator.topics()));
    m.put("lake.path", "file:///nonexistent/lake");
    m.put("warehouse.url", "jdbc:postgresql://127.0.0.1:9/none");
    m.put("warehouse.user", "none");
    m.put("policy.folder", "../policies");
    m.put("keys.keystore", "/nonexistent/keystore.p12");
    m.put("keys.password_file", "/nonexistent/password");
    return JobConfig.fromMap(m, deployedSpec(), "");
  }

  private static String policyLine(String uid, Tuple2<String, PolicyDocument> p) {
    String tenant = TenantId.of(p.f0, "broadcast state of " + uid).value();
    assertThat(p.f1.getTenantId()).as("document of %s", tenant).isEqualTo(tenant);
    assertThat(p.f1.getText()).as("document of %s", tenant).contains("tenant: " + tenant);
    return "policies@" + uid + " " + tenant;
  }

  private static void checkTenant(String tenant, String where) {
    TenantId.of(tenant, where); // throws on an invalid id
  }

  /**
   * The operator's own descriptor, except that TTL'd state is returned even when expired and never
   * cleaned up while it is read: the fixture's TTL timestamps are the wall clock of the day it was
   * written, and its mutable rows would otherwise vanish {@code retention} later. The serializers
   * (TTL wrapper included) are the operator's.
   */
  private static <T> ValueStateDescriptor<T> readable(ValueStateDescriptor<T> d) {
    if (!d.getTtlConfig().isEnabled()) {
      return d;
    }
    d.initializeSerializerUnlessSet(new ExecutionConfig());
    ValueStateDescriptor<T> r = new ValueStateDescriptor<>(d.getName(), d.getSerializer());
    r.enableTimeToLive(returnExpired(d.getTtlConfig()));
    return r;
  }

  private static <K, V> MapStateDescriptor<K, V> readable(MapStateDescriptor<K, V> d) {
    if (!d.getTtlConfig().isEnabled()) {
      return d;
    }
    d.initializeSerializerUnlessSet(new ExecutionConfig());
    MapStateDescriptor<K, V> r =
        new MapStateDescriptor<>(d.getName(), d.getKeySerializer(), d.getValueSerializer());
    r.enableTimeToLive(returnExpired(d.getTtlConfig()));
    return r;
  }

  private static StateTtlConfig returnExpired(StateTtlConfig c) {
    return StateTtlConfig.newBuilder(c.getTimeToLive())
        .setUpdateType(c.getUpdateType())
        .setStateVisibility(StateTtlConfig.StateVisibility.ReturnExpiredIfNotCleanedUp)
        .disableCleanupInBackground()
        .build();
  }

  /** Reads every state of the dedupe operator; one line per scope, tie and replayed origin. */
  private static final class ScopeReader extends KeyedStateReaderFunction<String, String> {
    private static final long serialVersionUID = 1L;

    private final ExportSpec spec;
    private transient Map<String, ValueState<ScopeState>> scopes;
    private transient Map<String, MapState<Long, Boolean>> ties;
    private transient MapState<Long, Boolean> replayed;

    ScopeReader(ExportSpec spec) {
      this.spec = spec;
    }

    @Override
    public void open(OpenContext ctx) {
      scopes = new HashMap<>();
      ties = new HashMap<>();
      for (TableSpec t : spec.tables().values()) {
        scopes.put(
            t.name(),
            getRuntimeContext().getState(readable(ScopeDeduplicator.scopeStateDescriptor(t))));
        if (!t.isMutable()) {
          ties.put(
              t.name(),
              getRuntimeContext()
                  .getMapState(readable(ScopeDeduplicator.tiesDescriptor(t.name()))));
        }
      }
      replayed = getRuntimeContext().getMapState(readable(ScopeDeduplicator.replayedDescriptor()));
    }

    @Override
    public void readKey(String key, Context ctx, Collector<String> out) throws Exception {
      // Mutable rows are keyed "table|row…", a tenant's append-only table "tenant|table…".
      List<String> parts = List.of(key.split("\\|"));
      for (Map.Entry<String, ValueState<ScopeState>> e : scopes.entrySet()) {
        ScopeState s = e.getValue().value();
        if (s == null) {
          continue;
        }
        assertThat(parts).as("parts of scope key %s", key).contains(e.getKey());
        if (s.getTenantId() != null) {
          checkTenant(s.getTenantId(), "scope " + key);
        }
        if (spec.table(e.getKey()).isMutable()) {
          // Append-only scopes carry their tenant in the key; a row records its owner.
          assertThat(s.getTenantId() != null || !s.getPending().isEmpty())
              .as("row %s has an owner or parked changes", key)
              .isTrue();
        } else {
          checkTenant(parts.get(0), "scope " + key);
        }
        assertThat(s.getPending()).hasSameSizeAs(s.getPendingParkedAt());
        out.collect(ScopeDeduplicator.stateName(e.getKey()) + " " + key);
      }
      for (Map.Entry<String, MapState<Long, Boolean>> e : ties.entrySet()) {
        for (Map.Entry<Long, Boolean> tie : e.getValue().entries()) {
          assertThat(tie.getValue()).isTrue();
          out.collect(ScopeDeduplicator.tiesStateName(e.getKey()) + " " + key);
        }
      }
      for (Map.Entry<Long, Boolean> r : replayed.entries()) {
        out.collect(ScopeDeduplicator.REPLAYED_STATE + " " + key + " " + r.getKey());
      }
    }
  }

  /** Reads a lake bucket's buffered rows; one line per row, checked against its bucket. */
  private static final class LakeBufferReader extends KeyedStateReaderFunction<String, String> {
    private static final long serialVersionUID = 1L;

    private transient MapState<Long, LakeRecord> rows;
    private transient ValueState<LakeBuffer> buffer;

    @Override
    public void open(OpenContext ctx) {
      rows = getRuntimeContext().getMapState(readable(LakeFileBuffer.rowsDescriptor()));
      buffer = getRuntimeContext().getState(readable(LakeFileBuffer.bufferDescriptor()));
    }

    @Override
    public void readKey(String bucket, Context ctx, Collector<String> out) throws Exception {
      checkTenant(TenantDateBucketAssigner.tenantOfBucket(bucket), "key of lake-buffer");
      LakeBuffer b = buffer.value();
      long n = 0;
      for (Map.Entry<Long, LakeRecord> r : rows.entries()) {
        assertThat(TenantDateBucketAssigner.bucketId(r.getValue())).isEqualTo(bucket);
        assertThat(r.getKey()).isLessThan(b.getNextSeq());
        out.collect(LakeFileBuffer.ROWS_STATE + " " + bucket + " " + r.getKey());
        n++;
      }
      assertThat(b.getRows()).as("rows counted for %s", bucket).isEqualTo(n);
    }
  }

  /** Reads the tenant's clock and open windows; one line per clock and per window. */
  private static final class TenantReader extends KeyedStateReaderFunction<String, String> {
    private static final long serialVersionUID = 1L;

    private transient ValueState<TenantClock> clock;
    private transient MapState<Long, TenantWindow> windows;

    @Override
    public void open(OpenContext ctx) {
      clock = getRuntimeContext().getState(readable(TenantWindowAggregator.clockDescriptor()));
      windows =
          getRuntimeContext().getMapState(readable(TenantWindowAggregator.windowsDescriptor()));
    }

    @Override
    public void readKey(String tenant, Context ctx, Collector<String> out) throws Exception {
      checkTenant(tenant, "key of tenant-windows");
      TenantClock c = clock.value();
      if (c != null) {
        assertThat(c.getMaxEventTime()).as("clock of %s", tenant).isPositive();
        out.collect(TenantWindowAggregator.CLOCK_STATE + " " + tenant);
      }
      for (Map.Entry<Long, TenantWindow> w : windows.entries()) {
        assertThat(w.getValue().getWindowStart()).isEqualTo(w.getKey());
        w.getValue().getCells().values().forEach(cell -> assertThat(cell.getMetric()).isNotBlank());
        out.collect(TenantWindowAggregator.WINDOWS_STATE + " " + tenant + " " + w.getKey());
      }
    }
  }
}
