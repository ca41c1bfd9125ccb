package io.tenantexport.local.bench;

import io.tenantexport.common.spec.Durations;
import io.tenantexport.jobs.bench.BareFileSinkJob;
import io.tenantexport.jobs.bench.DiscardCeilingJob;
import io.tenantexport.jobs.bench.WarehouseSinkJob;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.local.DevSecrets;
import io.tenantexport.local.infra.LocalFlinkCluster;
import io.tenantexport.local.infra.LocalKafka;
import io.tenantexport.local.infra.LocalWarehouse;
import io.tenantexport.schemas.WarehouseRollup;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ConfigurationUtils;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The benchmark command ({@code deploy/local-stack/bench.sh}): on this machine, preloads Kafka with
 * generated Debezium events for each tenant count, then runs on the same data, side by side on one
 * real multi-process Flink cluster:
 *
 * <ul>
 *   <li>(a) {@link DiscardCeilingJob}: Kafka → decode → keyBy(tenant) → discard;
 *   <li>(b) {@link BareFileSinkJob}: Kafka → decode → FileSink bulk Parquet bucketed by tenant;
 *   <li>(c) the full pipeline, {@code TenantExportJob}, with a fresh consumer group, the embedded
 *       PostgreSQL warehouse and a policy per tenant ({@link BenchPolicies});
 *   <li>after each finished (c) run, (w) {@link WarehouseSinkJob}: the rollups (c) left, widened
 *       ({@link WarehouseBaseline}), written by the pipeline's warehouse sink alone; then the same
 *       rows upserted outside any job. The ratio of the two is the warehouse figure.
 * </ul>
 *
 * <p>(a), (b) and (c) read the same topics with the same parallelism, checkpoint interval
 * (exactly-once) and bounded source, so each run ends by itself. The cluster's configuration is the
 * production file with the TaskManagers' heap pre-touched ({@code -XX:+AlwaysPreTouch}) and no
 * restarts (a failure is a result). The job jar is also on the cluster's classpath, loaded
 * parent-first (see {@link #benchClasspath}), so that warm-up runs of all three jobs, which come
 * first and are discarded, leave their code compiled for the measured runs; then each repetition
 * runs (a), (b), (c) in turn, so drift over time hits all three alike. Results: {@code
 * <out>/results.md} (also printed) and {@code <out>/results.json}; see {@link RunResult} for what
 * each figure is.
 */
public final class Benchmark {
  private static final Logger LOG = LoggerFactory.getLogger(Benchmark.class);
  private static final String FULL_PIPELINE = "io.tenantexport.jobs.TenantExportJob";
  private static final int ROLLUP_BATCH = 20_000;

  /**
   * A measured run whose TaskManagers spent more of their CPU than this in the JIT compiler was not
   * warm (a warm (c) run at 10 tenants spends a few per cent there; its first run, over a third).
   */
  static final double JIT_WARNING_SHARE = 0.10;

  /** The command's options; see {@link #USAGE}. */
  record Options(
      List<Integer> tenants,
      List<String> jobs,
      long events,
      int parallelism,
      Duration checkpointInterval,
      int warmups,
      int repetitions,
      Path out,
      int taskManagers,
      Duration runTimeout,
      Path spec,
      Path jar,
      List<Integer> latencyTenants,
      int latencyRate,
      Duration latencyDuration,
      List<Integer> idleTenants,
      String jobManagerMemory,
      String taskManagerMemory) {}

  static final String USAGE =
      String.join(
          "\n",
          "Usage: bench.sh [options]",
          "  --tenants 10,1000,100000   tenant counts, each with its own input of --events records",
          "  --jobs a,b,c               which of (a), (b), (c) to run (ratios need both sides)",
          "  --events 600000            input records per tenant count (shorter runs measure the JIT)",
          "  --parallelism 2            of every job",
          "  --checkpoint-interval 10s  of every job (exactly-once)",
          "  --warmups 2                runs of (a), (b), (c) before measuring, discarded (the",
          "                             JIT compiles through the first two; see JIT % of CPU)",
          "  --repetitions 3            measured runs of each job per tenant count; medians reported",
          "  --out bench-results        results.md, results.json, the cluster's logs, the inputs",
          "  --task-managers 2          TaskManager JVMs (slots: parallelism / task managers)",
          "  --run-timeout 10m          a run still going after this is cancelled and reported",
          "  --latency-tenants 10       tenant counts (of --tenants) to measure latency at, at 70 %"
              + " of (c)'s rate; 'none' for none",
          "  --latency-rate 0           records/s of the latency run; 0: 70 % of (c)'s median events/s",
          "  --latency-duration 4m      live input per latency run; windows close after the spec's"
              + " window + allowed lateness, so make it longer than that",
          "  --idle-tenants 10,1000     tenant counts (of --tenants) to measure idle tenants' state at"
              + " (a savepoint after the input, per operator; default: all); 'none' for none",
          "  --jm-memory 1024m          jobmanager.memory.process.size (default: deploy/config.yaml's)",
          "  --tm-memory 1536m          taskmanager.memory.process.size (default: deploy/config.yaml's)",
          "  --spec deploy/export-spec.yaml",
          "  --jar jobs/target/tenant-export-jobs-<version>-job.jar (default: the newest there)");

  private final Options o;
  private final LocalKafka kafka;
  private final LocalWarehouse warehouse;
  private final LocalWarehouse.Login writer;
  private final Map<String, String> keySettings;
  private final LocalFlinkCluster cluster;
  private final RunProbe probe;
  private final String jarId;
  private final List<RunResult> results = new ArrayList<>();
  private final Map<Integer, LatencyProbe.Latencies> latencies = new LinkedHashMap<>();
  private final Map<Integer, IdleStateProbe.IdleState> idleStates = new LinkedHashMap<>();

  private Benchmark(
      Options o,
      LocalKafka kafka,
      LocalWarehouse warehouse,
      LocalWarehouse.Login writer,
      Map<String, String> keySettings,
      LocalFlinkCluster cluster) {
    this.o = o;
    this.kafka = kafka;
    this.warehouse = warehouse;
    this.writer = writer;
    this.keySettings = keySettings;
    this.cluster = cluster;
    this.probe = new RunProbe(cluster, o.out().resolve("cluster"), o.taskManagers());
    this.jarId = cluster.uploadJar(o.jar());
  }

  public static void main(String[] args) throws Exception {
    Options o;
    try {
      o = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    Files.createDirectories(o.out());
    Path flinkConfig = benchFlinkConfig(o.out().resolve("flink-base"), o);
    System.setProperty(LocalFlinkCluster.CONFIG_FILE_PROPERTY, flinkConfig.toString());
    System.setProperty(
        LocalFlinkCluster.CLASSPATH_FILE_PROPERTY,
        benchClasspath(o.out().resolve("flink-base"), o.jar()).toString());
    try (LocalKafka kafka = LocalKafka.start();
        LocalWarehouse warehouse = LocalWarehouse.start()) {
      warehouse.migrate();
      LocalWarehouse.Login writer = warehouse.writerLogin("export_job");
      // No tenant keys: the benchmark's policies hash nothing (see BenchPolicies).
      Map<String, String> keys = DevSecrets.create(o.out().resolve("secrets"), List.of());
      int slots = (o.parallelism() + o.taskManagers() - 1) / o.taskManagers();
      try (LocalFlinkCluster cluster =
          LocalFlinkCluster.start(
              o.out().resolve("cluster"),
              o.taskManagers(),
              slots,
              Map.of(JobConfig.PASSWORD_ENV, writer.password()))) {
        Report report = new Benchmark(o, kafka, warehouse, writer, keys, cluster).run(slots);
        report.write(o.out());
        System.out.println(report.markdown());
        System.out.println("Results: " + o.out().resolve("results.md") + ", results.json");
      }
    }
  }

  private Report run(int slots) throws Exception {
    // 06:00 UTC yesterday, not the current hour: the input spans a few hours of event time (its
    // snapshot lies just before the start), and started at 23:00 it crossed midnight, giving every
    // tenant two dt= partitions and so twice the lake files of a run started at 22:00 (measured:
    // (b) at 1,000 tenants 11,375 -> 5,266 events/s with unchanged code). Started at midnight, the
    // snapshot rows made a small file of the day before. The same command must write the same lake
    // at any hour.
    Instant start =
        Instant.now()
            .truncatedTo(ChronoUnit.DAYS)
            .minus(Duration.ofDays(1))
            .plus(Duration.ofHours(6));
    boolean warmedUp = false;
    Map<Integer, Double> loadSeconds = new LinkedHashMap<>();
    String aborted = null;
    for (int tenants : o.tenants()) {
      try {
        warmedUp = runTenants(tenants, start, warmedUp, loadSeconds);
      } catch (RuntimeException e) {
        // The cluster itself failed (a JobManager out of memory, say): report what was measured.
        LOG.error("Bench: aborted at {} tenants", tenants, e);
        aborted = tenants + " tenants: " + e;
        break;
      }
    }
    return report(slots, loadSeconds, aborted);
  }

  /**
   * Preloads the input of {@code tenants} tenants and runs warm-ups (unless done), repetitions and
   * the latency run; returns whether the cluster is warmed up.
   */
  private boolean runTenants(
      int tenants, Instant start, boolean warmedUp, Map<Integer, Double> loadSeconds)
      throws Exception {
    long t0 = System.nanoTime();
    BenchData data = BenchData.produce(kafka, "bench-t" + tenants, tenants, o.events(), start);
    loadSeconds.put(tenants, (System.nanoTime() - t0) / 1e9);
    Path work = o.out().resolve("work").resolve("t" + tenants);
    Path policies = BenchPolicies.write(work.resolve("policies"), data.tenantIds());
    LOG.info(
        "Bench: {} events for {} tenants ({} h of event time) in Kafka after {} s",
        data.events(),
        data.tenantIds().size(),
        String.format("%.2f", data.eventHours()),
        String.format("%.1f", loadSeconds.get(tenants)));
    // What the JobManager will load for every (c) run, loaded once here: a bad setting fails
    // before anything is submitted, and the log shows how long the policy folder takes.
    JobConfig checked =
        config(
            "t" + tenants,
            fullPipelineFlags(
                "t" + tenants,
                BenchData.topics("bench-t" + tenants),
                work.resolve("lake"),
                policies,
                true));
    if (!warmedUp) {
      for (int w = 1; w <= o.warmups(); w++) {
        for (String job : o.jobs()) {
          measure(job, tenants, data, policies, work, checked, "w" + w);
        }
      }
      warmedUp = true;
    }
    for (int rep = 1; rep <= o.repetitions(); rep++) {
      for (String job : o.jobs()) {
        results.add(measure(job, tenants, data, policies, work, checked, "r" + rep));
      }
    }
    if (o.latencyTenants().contains(tenants)) {
      latency(tenants, policies, work, checked);
    }
    if (o.idleTenants().contains(tenants)) {
      idleState(tenants, data, policies, work, checked);
    }
    return warmedUp;
  }

  private Report report(int slots, Map<Integer, Double> loadSeconds, String aborted) {
    Map<String, Object> setup = new LinkedHashMap<>();
    setup.put("events", o.events());
    setup.put("parallelism", o.parallelism());
    setup.put("checkpoint_interval", o.checkpointInterval().toString());
    setup.put("task_managers", o.taskManagers() + " x " + slots + " slot(s)");
    setup.put("warmups", o.warmups());
    setup.put("repetitions", o.repetitions());
    setup.put("cores", Runtime.getRuntime().availableProcessors());
    setup.put("java", System.getProperty("java.version"));
    setup.put("generator_max_tenants", BenchData.GENERATOR_MAX_TENANTS);
    setup.put("kafka_preload_seconds", loadSeconds);
    setup.put("latency_duration", o.latencyDuration().toString());
    setup.put("flink_config", o.out().resolve("flink-base").resolve("config.yaml").toString());
    if (aborted != null) {
      setup.put("aborted", aborted);
    }
    return new Report(setup, results, latencies, idleStates);
  }

  /**
   * Latency on live input ({@link LatencyProbe}) at {@code --latency-rate}, by default 70 % of
   * (c)'s median rate at {@code tenants}. That median comes from bounded runs over a preloaded
   * input (a snapshot burst first, no producer on the cores), so it can be more than the job
   * sustains on live input: the probe reports how far behind the job was when production ended, and
   * a lower rate shows the latency of a job that keeps up.
   */
  private void latency(int tenants, Path policies, Path work, JobConfig checked) throws Exception {
    double rate =
        o.latencyRate() > 0
            ? o.latencyRate()
            : 0.7
                * new Report(Map.of(), results, Map.of(), Map.of())
                    .median("c", tenants, RunResult::eventsPerSecond);
    if (Double.isNaN(rate)) {
      LOG.warn("Bench: no finished (c) run at {} tenants, so no rate for a latency run", tenants);
      return;
    }
    String name = "c-t" + tenants + "-latency";
    String prefix = "bench-lat-t" + tenants;
    List<String> flags =
        fullPipelineFlags(
            name, BenchData.topics(prefix), work.resolve(name).resolve("lake"), policies, false);
    kafka.createTopic(policyTopic(name), 1);
    latencies.put(
        tenants,
        LatencyProbe.measure(
            cluster,
            probe,
            jarId,
            FULL_PIPELINE,
            flags,
            kafka,
            warehouse,
            prefix,
            auditTopic(name),
            tenants,
            rate,
            o.latencyDuration(),
            checked.spec().allowedLateness(),
            o.checkpointInterval()));
    deleteTree(work.resolve(name));
  }

  /**
   * The state of idle tenants (figure 3, {@link IdleStateProbe}): (c) reads the tenant count's
   * input unbounded, then every tenant is idle; its windows close after {@code job.idle_timeout}
   * and changes waiting for their row's tenant are quarantined after {@code job.orphan_timeout},
   * both {@link IdleStateProbe#EMPTIES_AFTER} here (they decide when state empties, not how much is
   * left).
   */
  private void idleState(int tenants, BenchData data, Path policies, Path work, JobConfig checked)
      throws Exception {
    String name = "c-t" + tenants + "-idle";
    Path dir = work.resolve(name);
    String empties = IdleStateProbe.EMPTIES_AFTER.toMillis() + "ms";
    List<String> flags =
        fullPipelineFlags(
            name,
            BenchData.topics("bench-t" + tenants),
            dir.resolve("lake"),
            policies,
            false,
            Map.of("job.idle_timeout", empties, "job.orphan_timeout", empties));
    kafka.createTopic(policyTopic(name), 1);
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement()) {
      s.execute("TRUNCATE tenant_export.metric_rollup");
    }
    IdleStateProbe.IdleState idle =
        IdleStateProbe.measure(
            cluster,
            probe,
            jarId,
            FULL_PIPELINE,
            flags,
            data.events(),
            data.tenantsWithInput(),
            o.runTimeout(),
            checked.idlePartitionTimeout(),
            dir.resolve("savepoints"));
    LOG.info("Bench: {} {}", name, idle);
    idleStates.put(tenants, idle);
    WarehouseBaseline.truncate(warehouse);
    deleteTree(dir);
  }

  private RunResult measure(
      String job,
      int tenants,
      BenchData data,
      Path policies,
      Path work,
      JobConfig checked,
      String run)
      throws Exception {
    String name = job + "-t" + tenants + "-" + run;
    Path lake = work.resolve(name).resolve("lake");
    String group = "bench-" + name;
    List<String> topics = BenchData.topics("bench-t" + tenants);
    List<String> common =
        List.of(
            "--bootstrap-servers", kafka.bootstrapServers(),
            "--topics", String.join(",", topics),
            "--group-id", group,
            "--spec", o.spec().toString(),
            "--parallelism", Integer.toString(o.parallelism()),
            "--max-parallelism", Integer.toString(checked.maxParallelism()),
            "--checkpoint-interval-ms", Long.toString(o.checkpointInterval().toMillis()));
    RunProbe.Outcome outcome;
    switch (job) {
      case "a" ->
          outcome = probe.run(jarId, DiscardCeilingJob.class.getName(), common, o.runTimeout());
      case "b" -> {
        List<String> args = new ArrayList<>(common);
        args.addAll(List.of("--lake", lake.toUri().toString()));
        outcome = probe.run(jarId, BareFileSinkJob.class.getName(), args, o.runTimeout());
      }
      default -> {
        kafka.createTopic(policyTopic(name), 1);
        try (Connection c = warehouse.connect();
            Statement s = c.createStatement()) {
          // Every (c) run inserts its rollups anew rather than updating the previous run's.
          s.execute("TRUNCATE tenant_export.metric_rollup");
        }
        outcome =
            probe.run(
                jarId,
                FULL_PIPELINE,
                fullPipelineFlags(name, topics, lake, policies, true),
                o.runTimeout());
      }
    }
    LakeScan scan = job.equals("a") ? null : LakeScan.of(lake);
    double hours = data.eventHours();
    double rows = Double.NaN;
    double standalone = Double.NaN;
    double sinkAlone = Double.NaN;
    if (job.equals("c") && outcome.finished()) {
      List<WarehouseRollup> left = WarehouseBaseline.take(warehouse);
      rows = left.size();
      List<WarehouseRollup> rollups = WarehouseBaseline.widen(left, WarehouseBaseline.MIN_ROWS);
      sinkAlone = sinkAlone(name, rollups, lake, policies);
      standalone = WarehouseBaseline.upsert(warehouse, writer, rollups).rowsPerSecond();
      WarehouseBaseline.truncate(warehouse);
    }
    RunResult r =
        new RunResult(
            job,
            tenants,
            run.startsWith("r") ? Integer.parseInt(run.substring(1)) : 0,
            outcome.status(),
            data.events(),
            RunProbe.steadyRate(outcome.readSamples(), data.events(), 0.1, 0.9),
            data.events() / (outcome.wallMillis() / 1000.0),
            outcome.cpuSeconds() / (data.events() / 1e6),
            outcome.jitSeconds() / outcome.cpuSeconds(),
            outcome.peakHeapBytes() / (1 << 20),
            scan == null ? Double.NaN : scan.files(),
            scan == null ? Double.NaN : scan.medianFilesPerTenantHour(hours),
            scan == null ? Double.NaN : scan.maxFilesPerTenantHour(hours),
            scan == null ? Double.NaN : scan.medianFileBytes() / 1024,
            outcome.checkpointStateBytes() / tenants,
            rows,
            sinkAlone,
            standalone);
    LOG.info("Bench: {} {}", name, r);
    if (run.startsWith("r") && r.finished() && r.jitShareOfCpu() > JIT_WARNING_SHARE) {
      LOG.warn(
          "Bench: {} spent {} % of its CPU in the JIT compiler: the cluster was not warm, so its"
              + " figures are low; more --warmups help",
          name, String.format(Locale.ROOT, "%.0f", 100 * r.jitShareOfCpu()));
    }
    // The figures are taken; a 100,000-tenant lake is many files, and each run writes its own.
    deleteTree(work.resolve(name));
    return r;
  }

  /**
   * Job (w): {@code rollups} written by the full pipeline's warehouse sink alone ({@link
   * WarehouseSinkJob}, the (c) run's settings), into the empty table; its read rate while in full
   * flow, or NaN when it did not finish or did not leave every row. Empties the table again.
   */
  private double sinkAlone(String name, List<WarehouseRollup> rollups, Path lake, Path policies)
      throws Exception {
    String run = name + "-sink";
    String topic = "bench-" + run + ".rollups";
    kafka.createTopic(topic, o.parallelism());
    List<ProducerRecord<byte[], byte[]>> records = WarehouseBaseline.asRecords(topic, rollups);
    for (int i = 0; i < records.size(); i += ROLLUP_BATCH) {
      kafka.produce(records.subList(i, Math.min(records.size(), i + ROLLUP_BATCH)));
    }
    RunProbe.Outcome w =
        probe.run(
            jarId,
            WarehouseSinkJob.class.getName(),
            fullPipelineFlags(run, List.of(topic), lake, policies, true),
            o.runTimeout());
    long written = WarehouseBaseline.count(warehouse);
    WarehouseBaseline.truncate(warehouse);
    if (!w.finished() || written != rollups.size()) {
      LOG.warn(
          "Bench: {} ended {} with {} of {} rows in the warehouse: no sink-alone figure",
          run,
          w.status(),
          written,
          rollups.size());
      return Double.NaN;
    }
    double rate = RunProbe.steadyRate(w.readSamples(), rollups.size(), 0.1, 0.9);
    LOG.info("Bench: {} wrote {} rows, {} rows/s in full flow", run, rollups.size(), (long) rate);
    return rate;
  }

  /**
   * The full pipeline's settings, as flags of TenantExportJob (it reads no file here); {@code
   * bounded}: whether it stops at the end offsets seen at start.
   */
  private List<String> fullPipelineFlags(
      String name, List<String> topics, Path lake, Path policies, boolean bounded) {
    return fullPipelineFlags(name, topics, lake, policies, bounded, Map.of());
  }

  /** {@link #fullPipelineFlags}, with {@code overrides}: settings of this run only. */
  private List<String> fullPipelineFlags(
      String name,
      List<String> topics,
      Path lake,
      Path policies,
      boolean bounded,
      Map<String, String> overrides) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("spec", o.spec().toString());
    m.put("job.name", "bench-" + name);
    m.put("job.parallelism", Integer.toString(o.parallelism()));
    m.put("job.checkpoint_interval", o.checkpointInterval().toMillis() + "ms");
    m.put("kafka.bootstrap_servers", kafka.bootstrapServers());
    m.put("kafka.topics", String.join(",", topics));
    m.put("kafka.group_id", "bench-" + name);
    m.put("kafka.starting_offsets", "earliest");
    m.put("kafka.bounded", Boolean.toString(bounded));
    m.put("kafka.audit_topic", auditTopic(name));
    m.put("kafka.quarantine_topic", "bench-" + name + ".quarantine");
    m.put("kafka.transactional_id_prefix", "bench-" + name);
    // The broker's most (transaction.max.timeout.ms), so that the longest checkpoint, the drain at
    // the end of a 100,000-tenant input (~2 minutes), fits: the job checks transaction timeout ≥
    // interval + 2 × checkpoint timeout. With 60 s here, that drain's checkpoint outlived the
    // audit and quarantine transactions and their records were lost (the broker aborted them;
    // Flink's committer logged an error and the job finished).
    m.put("kafka.transaction_timeout", "15m");
    m.put("job.checkpoint_timeout", "6m");
    m.put("lake.path", lake.toUri().toString());
    m.put("warehouse.url", warehouse.jdbcUrl());
    m.put("warehouse.user", writer.user());
    m.put("policy.folder", policies.toString());
    m.put("policy.control_topic", policyTopic(name));
    m.putAll(keySettings);
    m.putAll(overrides);
    List<String> flags = new ArrayList<>();
    m.forEach((k, v) -> flags.add("--" + k + "=" + v));
    return flags;
  }

  private static String auditTopic(String run) {
    return "bench-" + run + ".audit";
  }

  private static String policyTopic(String run) {
    return "bench-" + run + ".policies";
  }

  /** The full pipeline's configuration from {@code flags}, as TenantExportJob loads it. */
  private JobConfig config(String name, List<String> flags) {
    long t0 = System.nanoTime();
    JobConfig c =
        JobConfig.load(
            null, flags.toArray(String[]::new), Map.of(JobConfig.PASSWORD_ENV, writer.password()));
    LOG.info(
        "Bench: job config of {} with {} policies loaded in {} ms",
        name,
        c.policyDocuments().size(),
        (System.nanoTime() - t0) / 1_000_000);
    return c;
  }

  /**
   * The cluster's classpath with the job jar appended, written to {@code dir/classpath}.
   *
   * <p>Why: a job's user-code class loader lives as long as the job, so code loaded from a
   * submitted jar (ours, and the libraries bundled in it: Jackson, Avro, Parquet, the Kafka and
   * JDBC clients) is compiled by the JIT again in every job. Measured here, the compiler threads
   * then took about half the TaskManagers' CPU of a 200,000-event run and the warm-up runs warmed
   * nothing: the figures were those of a cold start, not of a job that has run for a while. With
   * the jar on the TaskManagers' own classpath and {@code classloader.resolve-order: parent-first}
   * (set by {@link #benchFlinkConfig}), every job's classes come from the JVM's class loader and
   * stay compiled, as a long-running production job's are after its first minutes. The submitted
   * jar is the same file, so nothing else differs.
   */
  static Path benchClasspath(Path dir, Path jar) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve("classpath");
    Files.writeString(
        file, LocalFlinkCluster.classpath() + File.pathSeparator + jar.toAbsolutePath());
    return file;
  }

  /**
   * The production Flink configuration ({@value LocalFlinkCluster#CONFIG_FILE_PROPERTY}) with the
   * TaskManagers' heap pre-touched, so that page faults while the heap grows do not land in the
   * first runs; with the job jar loaded parent-first ({@link #benchClasspath}); without restarts,
   * so that a failing job (out of memory) ends as a result; and with the REST API's metric cache
   * refreshed as often as the heap is sampled; with the process sizes of {@code --jm-memory} and
   * {@code --tm-memory} when given.
   */
  static Path benchFlinkConfig(Path dir, Options o) throws IOException {
    Path production =
        Path.of(System.getProperty(LocalFlinkCluster.CONFIG_FILE_PROPERTY, "deploy/config.yaml"))
            .toAbsolutePath();
    Configuration conf =
        new Configuration(GlobalConfiguration.loadConfiguration(production.getParent().toString()));
    String tmOpts = conf.getString("env.java.opts.taskmanager", "");
    conf.setString("env.java.opts.taskmanager", (tmOpts + " -XX:+AlwaysPreTouch").trim());
    conf.setString("restart-strategy.type", "none");
    // The job jar is on the cluster's classpath too (benchClasspath): load it from there.
    conf.setString("classloader.resolve-order", "parent-first");
    if (!o.jobManagerMemory().isEmpty()) {
      conf.setString("jobmanager.memory.process.size", o.jobManagerMemory());
    }
    if (!o.taskManagerMemory().isEmpty()) {
      conf.setString("taskmanager.memory.process.size", o.taskManagerMemory());
    }
    // The REST API serves TaskManager metrics from a cache refreshed this often (default 10 s).
    conf.setString("metrics.fetcher.update-interval", Long.toString(RunProbe.SAMPLE_MILLIS));
    List<String> lines = new ArrayList<>();
    lines.add("# Generated by io.tenantexport.local.bench.Benchmark from " + production);
    lines.add(
        "# with env.java.opts.taskmanager += -XX:+AlwaysPreTouch, restart-strategy.type: none,"
            + " classloader.resolve-order: parent-first (the job jar is on the classpath),"
            + " metrics.fetcher.update-interval: "
            + RunProbe.SAMPLE_MILLIS);
    lines.addAll(ConfigurationUtils.convertConfigToWritableLines(conf, true));
    Files.createDirectories(dir);
    Path file = dir.resolve("config.yaml");
    Files.write(file, lines);
    return file;
  }

  static Options parse(String[] args) throws IOException {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("tenants", "10,1000,100000");
    m.put("jobs", String.join(",", Report.JOBS));
    // Shorter runs measure the JIT more than the job: in a 200,000-event (c) run at 1,000 tenants,
    // after a warm-up, the compiler threads still took 14.8 of the TaskManagers' 48.1 CPU-s.
    m.put("events", "600000");
    m.put("parallelism", "2");
    m.put("checkpoint-interval", "10s");
    m.put("warmups", "2");
    m.put("repetitions", "3");
    m.put("out", "bench-results");
    m.put("task-managers", "2");
    m.put("run-timeout", "10m");
    m.put("spec", "deploy/export-spec.yaml");
    m.put("jar", "");
    m.put("latency-tenants", "");
    m.put("latency-rate", "0");
    m.put("latency-duration", "4m");
    m.put("idle-tenants", "");
    m.put("jm-memory", "");
    m.put("tm-memory", "");
    for (int i = 0; i < args.length; i++) {
      String key = args[i].startsWith("--") ? args[i].substring(2) : "";
      if (args[i].equals("--help") || args[i].equals("-h")) {
        throw new IllegalArgumentException("");
      }
      if (!m.containsKey(key) || i + 1 >= args.length) {
        throw new IllegalArgumentException("unknown option or missing value: '" + args[i] + "'");
      }
      m.put(key, args[++i]);
    }
    List<Integer> tenants =
        Arrays.stream(m.get("tenants").split(","))
            .map(t -> positiveInt("--tenants", t.trim()))
            .toList();
    List<String> jobs = Arrays.stream(m.get("jobs").split(",")).map(String::trim).toList();
    if (jobs.isEmpty() || !Report.JOBS.containsAll(jobs)) {
      throw new IllegalArgumentException(
          "--jobs must name some of " + Report.JOBS + ", got " + m.get("jobs"));
    }
    List<Integer> latencyTenants =
        someOf(tenants, "--latency-tenants", m.get("latency-tenants"), List.of(tenants.get(0)));
    List<Integer> idleTenants = someOf(tenants, "--idle-tenants", m.get("idle-tenants"), tenants);
    return new Options(
        tenants,
        Report.JOBS.stream().filter(jobs::contains).toList(),
        positiveInt("--events", m.get("events")),
        positiveInt("--parallelism", m.get("parallelism")),
        duration("--checkpoint-interval", m.get("checkpoint-interval")),
        nonNegativeInt("--warmups", m.get("warmups")),
        positiveInt("--repetitions", m.get("repetitions")),
        Path.of(m.get("out")).toAbsolutePath().normalize(),
        positiveInt("--task-managers", m.get("task-managers")),
        duration("--run-timeout", m.get("run-timeout")),
        existing("--spec", Path.of(m.get("spec"))),
        m.get("jar").isEmpty()
            ? newestJobJar(Path.of("jobs/target"))
            : existing("--jar", Path.of(m.get("jar"))),
        latencyTenants,
        nonNegativeInt("--latency-rate", m.get("latency-rate")),
        duration("--latency-duration", m.get("latency-duration")),
        idleTenants,
        m.get("jm-memory"),
        m.get("tm-memory"));
  }

  /** Tenant counts {@code flag} names ("": {@code otherwise}, "none": none), among {@code all}. */
  private static List<Integer> someOf(
      List<Integer> all, String flag, String v, List<Integer> otherwise) {
    if (v.equals("none")) {
      return List.of();
    }
    List<Integer> some =
        v.isEmpty()
            ? otherwise
            : Arrays.stream(v.split(",")).map(t -> positiveInt(flag, t.trim())).toList();
    if (!all.containsAll(some)) {
      throw new IllegalArgumentException(flag + " " + some + " must be among --tenants " + all);
    }
    return some;
  }

  private static int positiveInt(String flag, String v) {
    int n = nonNegativeInt(flag, v);
    if (n == 0) {
      throw new IllegalArgumentException(flag + " must be positive, got " + v);
    }
    return n;
  }

  private static int nonNegativeInt(String flag, String v) {
    try {
      int n = Integer.parseInt(v.replace("_", ""));
      if (n >= 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new IllegalArgumentException(flag + " must be a whole number ≥ 0, got '" + v + "'");
  }

  private static Duration duration(String flag, String v) {
    Duration d = Durations.parseOrNull(v);
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException(
          flag + " must be a positive duration (10s, 500ms, 1m), got '" + v + "'");
    }
    return d;
  }

  private static Path existing(String flag, Path p) {
    if (!Files.isRegularFile(p)) {
      throw new IllegalArgumentException(flag + ": no such file " + p.toAbsolutePath());
    }
    return p.toAbsolutePath().normalize();
  }

  private static Path newestJobJar(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      try (Stream<Path> files = Files.list(dir)) {
        var jar =
            files
                .filter(f -> f.getFileName().toString().matches("tenant-export-jobs-.*-job\\.jar"))
                .max(Comparator.comparingLong(f -> f.toFile().lastModified()));
        if (jar.isPresent()) {
          return jar.get().toAbsolutePath().normalize();
        }
      }
    }
    throw new IllegalArgumentException(
        "no job jar tenant-export-jobs-*-job.jar in "
            + dir.toAbsolutePath()
            + ": build it (mvn -ntp package -DskipTests) or pass --jar");
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
