package io.tenantexport.local;

import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.policy.PolicyFolder;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import io.tenantexport.local.infra.LocalKafka;
import io.tenantexport.local.infra.LocalWarehouse;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The real components an integration test runs the job on, and what every run on them repeats:
 * Kafka ({@link LocalKafka}, an embedded KRaft broker on the project's machines), PostgreSQL with
 * the warehouse migrations applied and a writer login, and a development keystore for the tenants
 * of a policy folder.
 *
 * <p>A run is named: its consumer group, transactional ids, audit, quarantine and policy control
 * topics and its lake ({@code <dir>/<run>/lake}) carry the name, so the runs of one test class do
 * not see each other's outputs. It reads one copy of the generated CDC topics, its {@link Sources}.
 * {@link #close()} stops what {@link #start} started.
 */
final class ItStack implements AutoCloseable {
  private final Path dir;
  private final ExportSpec spec;
  private final Path policies;
  private final LocalKafka kafka;
  private final LocalWarehouse warehouse;
  private final LocalWarehouse.Login writer;
  private final Map<String, String> keySettings;

  /**
   * One copy of the generated CDC topics in Kafka, each named {@code prefix} + the generated
   * topic's name, partitioned as {@link TenantRouting#PARTITIONS} says.
   */
  record Sources(String prefix) {
    /** The generated topics under their own names, as Debezium writes them. */
    static final Sources AS_GENERATED = new Sources("");

    /** A run's own copy: {@code <run>.<topic>}. */
    static Sources of(String run) {
      return new Sources(run + ".");
    }

    /** The copy of generated topic {@code topic}. */
    String topic(String topic) {
      return prefix + topic;
    }

    List<String> topics() {
      return TrafficGenerator.topics().stream().map(this::topic).toList();
    }
  }

  private ItStack(
      Path dir,
      ExportSpec spec,
      Path policies,
      LocalKafka kafka,
      LocalWarehouse warehouse,
      LocalWarehouse.Login writer,
      Map<String, String> keySettings) {
    this.dir = dir;
    this.spec = spec;
    this.policies = policies;
    this.kafka = kafka;
    this.warehouse = warehouse;
    this.writer = writer;
    this.keySettings = keySettings;
  }

  /** The deployed export spec ({@code deploy/export-spec.yaml}) with another allowed lateness. */
  static ExportSpec spec(String lateness) throws IOException {
    String text = Files.readString(Path.of("../export-spec.yaml"));
    return ExportSpec.parse(
        text.replaceFirst("allowed_lateness: \\S+", "allowed_lateness: " + lateness),
        "deploy/export-spec.yaml with allowed_lateness " + lateness);
  }

  /** A Flink MiniCluster of two TaskManagers with two slots each, for runs at parallelism 2. */
  static MiniClusterExtension miniCluster() {
    return new MiniClusterExtension(
        new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(2)
            .setNumberSlotsPerTaskManager(2)
            .build());
  }

  /**
   * Where generated input starts: a fixed hour of yesterday, as brokers refuse timestamps more than
   * an hour in the future.
   */
  static Instant inputStart() {
    return Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofDays(1));
  }

  /**
   * Starts Kafka and PostgreSQL, migrates the warehouse, creates the job's writer login and writes
   * a keystore under {@code dir} with a key for every tenant of {@code policies}; every run exports
   * {@code spec} with that policy folder, under {@code dir}.
   */
  static ItStack start(Path dir, ExportSpec spec, Path policies) throws Exception {
    LocalKafka kafka = LocalKafka.start();
    LocalWarehouse warehouse = null;
    try {
      warehouse = LocalWarehouse.start();
      warehouse.migrate();
      LocalWarehouse.Login writer = warehouse.writerLogin("export_job");
      Map<String, String> keySettings =
          DevSecrets.create(dir.resolve("secrets"), PolicyFolder.documents(policies).keySet());
      return new ItStack(dir, spec, policies, kafka, warehouse, writer, keySettings);
    } catch (Throwable t) {
      for (AutoCloseable started : Arrays.asList(warehouse, kafka)) {
        if (started != null) {
          try {
            started.close();
          } catch (Exception e) {
            t.addSuppressed(e);
          }
        }
      }
      throw t;
    }
  }

  LocalKafka kafka() {
    return kafka;
  }

  LocalWarehouse warehouse() {
    return warehouse;
  }

  /** A member of {@code tenant_export_writer}: the job writes under row-level security. */
  LocalWarehouse.Login writer() {
    return writer;
  }

  /** The key provider the job's key settings name, as the job opens it; the caller closes it. */
  KeyProvider openKeys() {
    return DevSecrets.open(keySettings);
  }

  /** The lake of run {@code run}. */
  Path lake(String run) {
    return dir.resolve(run).resolve("lake");
  }

  void createTopics(Sources sources) {
    TenantRouting.PARTITIONS.forEach((t, n) -> kafka.createTopic(sources.topic(t), n));
  }

  /** Produces {@code records} to {@code sources}, each to the partition {@code routing} picks. */
  void produce(Sources sources, TenantRouting routing, List<GeneratedRecord> records) {
    List<ProducerRecord<byte[], byte[]>> batch = new ArrayList<>();
    for (GeneratedRecord r : records) {
      ProducerRecord<byte[], byte[]> p = routing.route(r, TenantRouting.PARTITIONS.get(r.topic()));
      batch.add(
          new ProducerRecord<>(
              sources.topic(r.topic()), p.partition(), p.timestamp(), p.key(), p.value()));
    }
    kafka.produce(batch);
  }

  /**
   * The configuration of run {@code run}, reading {@code sources} from the earliest offsets and
   * writing to the warehouse as {@code login}; creates its policy control topic.
   */
  JobConfig config(
      String run,
      Sources sources,
      boolean bounded,
      String idleTimeout,
      LocalWarehouse.Login login) {
    return config(run, sources, bounded, idleTimeout, login, Map.of());
  }

  /**
   * As {@link #config(String, Sources, boolean, String, LocalWarehouse.Login)}, then {@code
   * overrides}.
   */
  JobConfig config(
      String run,
      Sources sources,
      boolean bounded,
      String idleTimeout,
      LocalWarehouse.Login login,
      Map<String, String> overrides) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("job.name", "tenant-export-" + run);
    m.put("job.parallelism", "2");
    m.put("job.checkpoint_interval", "500ms");
    m.put("job.idle_timeout", idleTimeout);
    m.put("job.orphan_timeout", "1h");
    m.put("kafka.bootstrap_servers", kafka.bootstrapServers());
    m.put("kafka.topics", String.join(",", sources.topics()));
    m.put("kafka.group_id", "tenant-export-" + run);
    m.put("kafka.starting_offsets", "earliest");
    m.put("kafka.bounded", Boolean.toString(bounded));
    m.put("kafka.audit_topic", run + ".audit");
    m.put("kafka.quarantine_topic", run + ".quarantine");
    m.put("kafka.transactional_id_prefix", "tenant-export-" + run);
    m.put("kafka.transaction_timeout", "1m");
    // Within the transaction timeout (interval + 2 × this): checkpoints here take well under a
    // second.
    m.put("job.checkpoint_timeout", "25s");
    m.put("lake.path", lake(run).toUri().toString());
    // Tests look at the lake while jobs run: a row waits at most a second for its file.
    m.put("lake.max_file_age", "1s");
    m.put("warehouse.url", warehouse.jdbcUrl());
    m.put("warehouse.user", login.user());
    m.put("policy.folder", policies.toString());
    m.put("policy.control_topic", run + ".policies");
    m.putAll(keySettings);
    m.putAll(overrides);
    JobConfig c = JobConfig.fromMap(m, spec, login.password());
    kafka.createTopic(c.policyControlTopic(), 1);
    return c;
  }

  /**
   * A MiniCluster environment configured for {@code config}, with {@code extra}; without a restart
   * strategy in {@code extra} a crash fails the test instead of being hidden by a restart.
   */
  static StreamExecutionEnvironment env(JobConfig config, Configuration extra) {
    Configuration conf = new Configuration(extra);
    if (!conf.contains(RestartStrategyOptions.RESTART_STRATEGY)) {
      conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    }
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
    env.configure(conf);
    TenantExportPipeline.configure(env, config);
    return env;
  }

  /** What the run configured by {@code config} wrote, read back. */
  RunOutputs outputs(JobConfig config) throws Exception {
    return RunOutputs.read(
        Path.of(URI.create(config.lakePath())),
        warehouse,
        kafka,
        config.auditTopic(),
        config.quarantineTopic());
  }

  /** Empties the rollup table, which every run writes to. */
  void truncateWarehouse() throws Exception {
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement()) {
      s.execute("TRUNCATE tenant_export.metric_rollup");
    }
  }

  /** The end offsets of every partition of the source topics of {@code config}. */
  Map<TopicPartition, Long> endOffsets(JobConfig config) {
    Map<TopicPartition, Long> all = new HashMap<>();
    for (String t : config.topics()) {
      all.putAll(kafka.endOffsets(t));
    }
    return all;
  }

  /**
   * Waits until the job's checkpoints have committed offsets at the end of every input partition.
   */
  void awaitCommitted(JobConfig config) throws Exception {
    Map<TopicPartition, Long> end = endOffsets(config);
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (true) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(config.groupId()).partitionsToOffsetAndMetadata().get();
        boolean done =
            end.entrySet().stream()
                .allMatch(
                    e ->
                        committed.get(e.getKey()) != null
                            && committed.get(e.getKey()).offset() >= e.getValue());
        if (done) {
          return;
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError(
              "offsets not committed in time: end " + end + ", committed " + committed);
        }
        Thread.sleep(200);
      }
    }
  }

  @Override
  public void close() {
    try {
      warehouse.close();
    } finally {
      kafka.close();
    }
  }
}
