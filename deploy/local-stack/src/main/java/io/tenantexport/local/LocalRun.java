package io.tenantexport.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.gen.Truth;
import io.tenantexport.common.policy.PolicyFolder;
import io.tenantexport.common.spec.Durations;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import io.tenantexport.local.infra.LocalKafka;
import io.tenantexport.local.infra.LocalWarehouse;
import io.tenantexport.local.inspect.LakeFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The README's first command: the export job on real components, on this machine, with no setup.
 *
 * <p>Starts an embedded Kafka broker (KRaft) and an embedded PostgreSQL, applies the warehouse
 * migrations, produces realistic Debezium traffic for many tenants (skew, several tables,
 * inserts/updates/deletes, duplicates, late and malformed records) paced to the wall clock, runs
 * the job on a local Flink with its web UI, and prints a per-tenant summary every few seconds, read
 * from the job's own outputs (the audit and quarantine topics). Stops after {@code --duration} or
 * on Ctrl-C: the job is drained (every open window is exported) and a final summary printed.
 */
public final class LocalRun {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String AUDIT_TOPIC = "tenant-export.audit";
  private static final String QUARANTINE_TOPIC = "tenant-export.quarantine";
  private static final String POLICY_TOPIC = "tenant-export.policies";
  private static final String GROUP_ID = "tenant-export";

  private final Options options;
  private final PrintStream out = System.out;
  private final Map<String, AtomicLong> produced = new ConcurrentHashMap<>();
  private final Map<String, TenantSummary> summary = new TreeMap<>();
  private final AtomicBoolean stopping = new AtomicBoolean();
  private Admin admin;

  /** Command-line options. */
  record Options(
      Duration duration,
      int rate,
      int tenants,
      Path dir,
      int parallelism,
      Duration window,
      Duration lateness,
      int uiPort) {
    static Options parse(String[] args) {
      Duration duration = null;
      int rate = 200;
      int tenants = 24;
      Path dir = Path.of("local-run");
      int parallelism = 2;
      Duration window = Duration.ofSeconds(10);
      Duration lateness = Duration.ofSeconds(20);
      int uiPort = 8081;
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        String v = i + 1 < args.length ? args[i + 1] : null;
        switch (a) {
          case "--duration" -> duration = duration(a, v);
          case "--rate" -> rate = positive(a, v);
          case "--tenants" -> tenants = positive(a, v);
          case "--dir" -> dir = Path.of(require(a, v));
          case "--parallelism" -> parallelism = positive(a, v);
          case "--window" -> window = duration(a, v);
          case "--lateness" -> lateness = duration(a, v);
          case "--ui-port" -> uiPort = positive(a, v);
          case "--help", "-h" -> {
            System.out.println(
                """
                Runs tenant-export on an embedded Kafka broker, an embedded PostgreSQL and a local Flink.
                  --duration 90s      stop after this long (default: run until Ctrl-C)
                  --rate 200          generated CDC records per second
                  --tenants 24        number of tenants (skewed: the top one sends about a third)
                  --dir local-run     where the lake and the job's files go
                  --parallelism 2     Flink parallelism
                  --window 10s        tumbling window (the export spec's is 1m; shorter to see results soon)
                  --lateness 20s      allowed lateness
                  --ui-port 8081      Flink web UI port on 127.0.0.1""");
            System.exit(0);
          }
          default -> throw new IllegalArgumentException("unknown option '" + a + "' (try --help)");
        }
        i++;
      }
      return new Options(duration, rate, tenants, dir, parallelism, window, lateness, uiPort);
    }

    private static String require(String flag, String v) {
      if (v == null) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      return v;
    }

    private static int positive(String flag, String v) {
      try {
        int n = Integer.parseInt(require(flag, v));
        if (n > 0) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new IllegalArgumentException(flag + " must be a positive integer, got '" + v + "'");
    }

    private static Duration duration(String flag, String v) {
      String text = require(flag, v);
      Duration d = Durations.parseOrNull(text.matches("\\d+") ? text + "s" : text);
      if (d == null || d.isZero()) {
        throw new IllegalArgumentException(
            flag + " must be a duration like 90s or 5m, got '" + v + "'");
      }
      return d;
    }
  }

  /** Per-tenant counts read from the job's outputs. */
  static final class TenantSummary {
    long eventsIn;
    long duplicates;
    long quarantined;
    long late;
    long windows;
    Instant lastWindowEnd;
  }

  LocalRun(Options options) {
    this.options = options;
  }

  public static void main(String[] args) throws Exception {
    new LocalRun(Options.parse(args)).run();
  }

  /**
   * Runs until the duration ends or Ctrl-C. Ctrl-C (and SIGTERM) only ask the run to stop: it then
   * drains the job and stops Kafka and PostgreSQL itself. The JVM's own shutdown would run every
   * component's shutdown hook at once, and the embedded broker halts the JVM when its raft thread
   * loses the race. A second Ctrl-C exits at once (through the JVM's shutdown).
   */
  void run() throws Exception {
    SignalHandler stop =
        signal -> {
          if (stopping.compareAndSet(false, true)) {
            out.println(
                "\nCtrl-C: stopping cleanly (drain, final summary); Ctrl-C again exits at once.");
          } else {
            System.exit(130); // runs the embedded PostgreSQL's own shutdown hook
          }
        };
    SignalHandler previousInt = Signal.handle(new Signal("INT"), stop);
    SignalHandler previousTerm = Signal.handle(new Signal("TERM"), stop);
    try {
      runStack();
    } finally {
      Signal.handle(new Signal("INT"), previousInt);
      Signal.handle(new Signal("TERM"), previousTerm);
    }
  }

  private void runStack() throws Exception {
    Files.createDirectories(options.dir());
    Path lake = options.dir().toAbsolutePath().resolve("lake");
    out.println("tenant-export local run: starting an embedded Kafka broker and PostgreSQL ...");
    try (LocalKafka kafka = LocalKafka.start();
        LocalWarehouse warehouse = LocalWarehouse.start()) {
      warehouse.migrate();
      TenantRouting.PARTITIONS.forEach(kafka::createTopic);
      kafka.createTopic(AUDIT_TOPIC, 2);
      kafka.createTopic(QUARANTINE_TOPIC, 1);
      kafka.createTopic(POLICY_TOPIC, 1);

      ExportSpec spec =
          ExportSpec.load(findDeploy("export-spec.yaml"))
              .withWindowing(options.window(), options.lateness());
      Map<String, String> settings = new LinkedHashMap<>();
      settings.put("job.parallelism", Integer.toString(options.parallelism()));
      settings.put("job.checkpoint_interval", "2s");
      settings.put("job.idle_timeout", "30s");
      settings.put("kafka.bootstrap_servers", kafka.bootstrapServers());
      settings.put("kafka.topics", String.join(",", TrafficGenerator.topics()));
      settings.put("kafka.starting_offsets", "earliest");
      settings.put("kafka.group_id", GROUP_ID);
      settings.put("kafka.audit_topic", AUDIT_TOPIC);
      settings.put("kafka.quarantine_topic", QUARANTINE_TOPIC);
      settings.put("kafka.transaction_timeout", "1m");
      settings.put("job.checkpoint_timeout", "25s"); // interval + 2 × this within the 1m above
      settings.put("lake.path", lake.toUri().toString());
      // A demo shows files within seconds; production waits up to 15 minutes for fewer files.
      settings.put("lake.max_file_age", "10s");
      settings.put("warehouse.url", warehouse.jdbcUrl());
      // The job writes as a plain member of tenant_export_writer, under row-level security.
      LocalWarehouse.Login writer = warehouse.writerLogin("export_job");
      settings.put("warehouse.user", writer.user());
      Path policies = findDeploy("policies");
      settings.put("policy.folder", policies.toString());
      settings.put("policy.control_topic", POLICY_TOPIC);
      // Keys for the tenants that have a policy; a fresh random set per run, never committed.
      settings.putAll(
          DevSecrets.create(
              options.dir().toAbsolutePath().resolve("secrets"),
              PolicyFolder.documents(policies).keySet()));
      JobConfig config = JobConfig.fromMap(settings, spec, writer.password());

      Configuration flink = new Configuration();
      flink.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
      flink.set(RestOptions.ADDRESS, "127.0.0.1");
      flink.set(RestOptions.PORT, options.uiPort());
      StreamExecutionEnvironment env =
          StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(flink);
      TenantExportPipeline.configure(env, config);
      TenantExportPipeline.build(env, config, ProductionIo.create(config));
      JobClient job = env.executeAsync(config.jobName());

      Thread producer = new Thread(() -> produce(kafka), "traffic-generator");
      producer.setDaemon(true);
      producer.start();

      out.printf(
          """

          Running. Where to look while it runs:
            Flink web UI    http://127.0.0.1:%d
            Lake (Parquet)  %s   (tenant_id=<id>/dt=<date>/part-*.parquet)
            Warehouse       psql "postgresql://%s@%s" -c "select * from tenant_export.metric_rollup order by window_start desc limit 20"
            Audit topic     %s on %s (JSON, read_committed)
            Quarantine      %s on %s
            Export spec     %s
          %s

          """,
          options.uiPort(),
          lake,
          warehouse.user(),
          warehouse.jdbcUrl().replace("jdbc:postgresql://", ""),
          AUDIT_TOPIC,
          kafka.bootstrapServers(),
          QUARANTINE_TOPIC,
          kafka.bootstrapServers(),
          spec.source(),
          options.duration() == null
              ? "Ctrl-C stops it cleanly."
              : "Stops after " + options.duration() + ".");

      try (KafkaConsumer<byte[], byte[]> outputs = outputConsumer(kafka)) {
        long deadline =
            options.duration() == null
                ? Long.MAX_VALUE
                : System.nanoTime() + options.duration().toNanos();
        long nextPrint = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!stopping.get() && System.nanoTime() < deadline) {
          poll(outputs, Duration.ofMillis(500));
          if (System.nanoTime() >= nextPrint) {
            printSafely(kafka, lake, false);
            nextPrint = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
          }
        }
        stopping.set(true);
        out.println("Stopping: draining the job so that every open window is exported ...");
        try {
          job.stopWithSavepoint(
                  true,
                  options.dir().toAbsolutePath().resolve("savepoints").toUri().toString(),
                  SavepointFormatType.CANONICAL)
              .get(2, TimeUnit.MINUTES);
        } catch (Exception e) {
          out.println("Drain failed (" + e.getMessage() + "); cancelling the job.");
          job.cancel().get(1, TimeUnit.MINUTES);
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (System.nanoTime() < until) {
          poll(outputs, Duration.ofMillis(300));
        }
        printSafely(kafka, lake, true);
        printWarehouse(warehouse);
      }
      if (admin != null) {
        admin.close();
      }
      out.println(
          "The lake stays in " + lake + ". Kafka and PostgreSQL were embedded and stop now.");
    }
  }

  /** {@code deploy/<name>} of this checkout, from wherever in it the run was started. */
  static Path findDeploy(String name) {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path found = dir.resolve("deploy").resolve(name);
      if (Files.exists(found)) {
        return found;
      }
      if (dir.getFileName() != null
          && dir.getFileName().toString().equals("deploy")
          && Files.exists(dir.resolve(name))) {
        return dir.resolve(name);
      }
    }
    throw new IllegalStateException(
        "cannot find deploy/" + name + " above " + Path.of("").toAbsolutePath());
  }

  /** Produces generated traffic paced so that event time follows the wall clock. */
  private void produce(LocalKafka kafka) {
    TrafficGenerator gen =
        new TrafficGenerator(
            TrafficGenerator.Config.builder(Instant.now())
                .tenants(options.tenants())
                .quietTenants(Math.min(2, options.tenants() - 1))
                .meanGap(Duration.ofNanos(1_000_000_000L / options.rate()))
                .build());
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
    TenantRouting routing = new TenantRouting();
    long startWall = System.currentTimeMillis();
    long startEvent = -1;
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      while (!stopping.get()) {
        GeneratedRecord r = gen.next();
        if (startEvent < 0) {
          startEvent = r.timestamp();
        }
        long due = startWall + (r.timestamp() - startEvent);
        long wait = due - System.currentTimeMillis();
        if (wait > 0) {
          Thread.sleep(Math.min(wait, 1000));
        }
        producer.send(routing.route(r, TenantRouting.PARTITIONS.get(r.topic())));
        if (r.truth() instanceof Truth.Valid v) {
          produced.computeIfAbsent(v.tenantId(), t -> new AtomicLong()).incrementAndGet();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static KafkaConsumer<byte[], byte[]> outputConsumer(LocalKafka kafka) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "tenant-export-local-run-summary");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    c.subscribe(List.of(AUDIT_TOPIC));
    return c;
  }

  private void poll(KafkaConsumer<byte[], byte[]> consumer, Duration timeout) {
    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
      JsonNode e;
      try {
        e = JSON.readTree(r.value());
      } catch (IOException ex) {
        continue; // the job writes JSON; anything else is not ours to summarise
      }
      String tenant = e.path("tenant_id").asText(null);
      if (tenant == null || tenant.equals("null")) {
        continue;
      }
      TenantSummary s = summary.computeIfAbsent(tenant, t -> new TenantSummary());
      switch (e.path("type").asText()) {
        case "WINDOW_RECEIPT" -> {
          s.windows++;
          s.eventsIn += e.path("events_in").asLong();
          s.duplicates += e.path("duplicates_skipped").asLong();
          Instant end = Instant.parse(e.path("window_end").asText());
          if (s.lastWindowEnd == null || end.isAfter(s.lastWindowEnd)) {
            s.lastWindowEnd = end;
          }
        }
        case "QUARANTINE" -> s.quarantined++;
        case "LATE_EVENT" -> s.late++;
        default -> {}
      }
    }
  }

  /** A summary that cannot be printed is reported, never a reason to stop the run. */
  private void printSafely(LocalKafka kafka, Path lake, boolean last) {
    try {
      print(kafka, lake, last);
    } catch (RuntimeException e) {
      out.println("(summary skipped: " + e + ")");
    }
  }

  private void print(LocalKafka kafka, Path lake, boolean last) {
    Instant now = Instant.now();
    Map<String, Integer> files = LakeFiles.filesPerTenant(lake);
    List<String> tenants = new ArrayList<>(produced.keySet());
    summary
        .keySet()
        .forEach(
            t -> {
              if (!tenants.contains(t)) {
                tenants.add(t);
              }
            });
    tenants.sort((a, b) -> Long.compare(count(b), count(a)));
    out.printf("%n%s — %s%n", last ? "Final summary" : "Per-tenant summary", now);
    out.printf(
        "%-16s %9s %9s %6s %6s %5s %8s %6s %9s%n",
        "tenant", "produced", "events_in", "dups", "quar.", "late", "windows", "files", "fresh(s)");
    long[] total = new long[7];
    for (String t : tenants) {
      TenantSummary s = summary.getOrDefault(t, new TenantSummary());
      String fresh =
          s.lastWindowEnd == null
              ? "-"
              : Long.toString(Math.max(0, Duration.between(s.lastWindowEnd, now).toSeconds()));
      out.printf(
          "%-16s %9d %9d %6d %6d %5d %8d %6d %9s%n",
          t,
          count(t),
          s.eventsIn,
          s.duplicates,
          s.quarantined,
          s.late,
          s.windows,
          files.getOrDefault(t, 0),
          fresh);
      total[0] += count(t);
      total[1] += s.eventsIn;
      total[2] += s.duplicates;
      total[3] += s.quarantined;
      total[4] += s.late;
      total[5] += s.windows;
      total[6] += files.getOrDefault(t, 0);
    }
    out.printf(
        "%-16s %9d %9d %6d %6d %5d %8d %6d%n",
        "TOTAL", total[0], total[1], total[2], total[3], total[4], total[5], total[6]);
    out.println(
        "source lag: " + sourceLag(kafka) + " records not yet covered by a completed checkpoint");
    out.println(
        "produced: valid changes generated; events_in: changes in exported windows; fresh: seconds since"
            + " the end of the tenant's newest exported window. Records without a valid tenant are only in "
            + QUARANTINE_TOPIC
            + ".");
  }

  /** Records in the CDC topics beyond the offsets the job committed with its last checkpoint. */
  private String sourceLag(LocalKafka kafka) {
    try {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin(kafka)
              .listConsumerGroupOffsets(GROUP_ID)
              .partitionsToOffsetAndMetadata()
              .get(5, TimeUnit.SECONDS);
      long lag = 0;
      for (String topic : TrafficGenerator.topics()) {
        for (Map.Entry<TopicPartition, Long> e : kafka.endOffsets(topic).entrySet()) {
          OffsetAndMetadata c = committed.get(e.getKey());
          lag += e.getValue() - (c == null ? 0 : c.offset());
        }
      }
      return Long.toString(lag);
    } catch (Exception e) {
      return "unknown (" + e.getMessage() + ")";
    }
  }

  private Admin admin(LocalKafka kafka) {
    if (admin == null) {
      admin =
          Admin.create(
              Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
    }
    return admin;
  }

  private long count(String tenant) {
    AtomicLong n = produced.get(tenant);
    return n == null ? 0 : n.get();
  }

  private void printWarehouse(LocalWarehouse warehouse) {
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT count(*), count(DISTINCT tenant_id), min(window_start), max(window_end)"
                    + " FROM tenant_export.metric_rollup")) {
      rs.next();
      out.printf(
          "Warehouse: %d rollup rows for %d tenants, windows %s .. %s%n",
          rs.getLong(1), rs.getLong(2), rs.getObject(3), rs.getObject(4));
    } catch (Exception e) {
      out.println("Warehouse summary failed: " + e.getMessage());
    }
  }
}
