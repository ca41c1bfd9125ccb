package io.tenantexport.local.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.local.infra.LocalFlinkCluster;
import io.tenantexport.local.infra.LocalKafka;
import io.tenantexport.local.infra.LocalWarehouse;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * End-to-end latency of the full pipeline under a steady load below its maximum: the job runs
 * unbounded on fresh topics while generated records are produced live, each when the wall clock
 * reaches its timestamp (the generator's {@code source.ts_ms}, so a record's source time is when it
 * was sent), at {@code rate} records per second; a {@code read_committed} consumer notes when each
 * audit event becomes visible. Three latencies, as percentiles:
 *
 * <ul>
 *   <li>per record, audit topic: for the audit events that name one input record ({@code
 *       QUARANTINE}, {@code LATE_EVENT}: {@code origin} = topic/partition@offset), visible time −
 *       that record's source timestamp;
 *   <li>per window, audit topic: for {@code WINDOW_RECEIPT}s, visible time − (window end + the
 *       spec's allowed lateness), the earliest moment the window may close;
 *   <li>per window, warehouse: {@code exported_at} of each rollup row − (window end + allowed
 *       lateness).
 * </ul>
 *
 * Only windows that closed while records were produced count, so the run must last longer than the
 * spec's window plus allowed lateness to see any.
 */
final class LatencyProbe {
  private static final Logger LOG = LoggerFactory.getLogger(LatencyProbe.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Percentiles in milliseconds; NaN where nothing was observed.
   *
   * @param rate records per second produced (target)
   * @param produced records produced
   * @param status RUNNING when the job ran throughout, else what went wrong
   * @param lagAtEnd records produced but not yet read by the job when production ended (-1:
   *     unknown): more than a few seconds' worth means the job did not keep up with {@code rate},
   *     and the latencies then measure a growing backlog rather than the pipeline
   */
  record Latencies(
      double rate,
      long produced,
      String status,
      long lagAtEnd,
      int recordEvents,
      double recordP50,
      double recordP99,
      int receipts,
      double receiptP50,
      double receiptP99,
      int warehouseRows,
      double warehouseP50,
      double warehouseP99) {}

  private LatencyProbe() {}

  /**
   * Runs the full pipeline ({@code jobFlags}, which must read {@code prefix}'s topics unbounded and
   * write audit events to {@code auditTopic}) for {@code duration} under {@code rate} records/s of
   * {@code tenants} tenants, then cancels it.
   */
  static Latencies measure(
      LocalFlinkCluster cluster,
      RunProbe probe,
      String jarId,
      String entryClass,
      List<String> jobFlags,
      LocalKafka kafka,
      LocalWarehouse warehouse,
      String prefix,
      String auditTopic,
      int tenants,
      double rate,
      Duration duration,
      Duration allowedLateness,
      Duration checkpointInterval)
      throws Exception {
    BenchData.createTopics(kafka, prefix);
    kafka.createTopic(auditTopic, 1);
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement()) {
      s.execute("TRUNCATE tenant_export.metric_rollup");
    }
    String jobId = probe.submit(jarId, entryClass, jobFlags);
    awaitAllRunning(cluster, jobId);
    Map<String, Long> sourceTs = new ConcurrentHashMap<>();
    List<Visible> audit = new ArrayList<>();
    AtomicBoolean consuming = new AtomicBoolean(true);
    Thread consumer =
        new Thread(() -> consume(kafka, auditTopic, consuming, audit), "bench-audit-consumer");
    consumer.setDaemon(true);
    consumer.start();
    Instant start = Instant.now().plusSeconds(1);
    long produced = produce(kafka, prefix, tenants, rate, start, start.plus(duration), sourceTs);
    // The REST API answers a metric query from its cache and refreshes it when asked (every
    // metrics.fetcher.update-interval at most): the first answer can be stale (it said 0 here).
    probe.recordsRead(jobId);
    Thread.sleep(4 * RunProbe.SAMPLE_MILLIS);
    long read = probe.recordsRead(jobId);
    long lagAtEnd = read < 0 ? -1 : Math.max(0, produced - read);
    // What was produced last becomes visible with the next completed checkpoint or two.
    Thread.sleep(2 * checkpointInterval.toMillis() + 5_000);
    String state = cluster.jobState(jobId);
    consuming.set(false);
    consumer.join(10_000);
    probe.cancel(jobId);
    List<Double> perRecord = new ArrayList<>();
    List<Double> perReceipt = new ArrayList<>();
    long lateness = allowedLateness.toMillis();
    synchronized (audit) {
      for (Visible v : audit) {
        Double record = recordLatency(v, sourceTs);
        if (record != null) {
          perRecord.add(record);
        }
        Double receipt = receiptLatency(v, lateness);
        if (receipt != null) {
          perReceipt.add(receipt);
        }
      }
    }
    List<Double> perRow = warehouseLatencies(warehouse, lateness);
    LOG.info(
        "Bench: latency run {} produced {} records at {}/s ({} not yet read when production ended);"
            + " {} record and {} receipt audit events, {} warehouse rows",
        jobId,
        produced,
        String.format("%.0f", rate),
        lagAtEnd,
        perRecord.size(),
        perReceipt.size(),
        perRow.size());
    return new Latencies(
        rate,
        produced,
        state,
        lagAtEnd,
        perRecord.size(),
        Stats.percentile(perRecord, 50),
        Stats.percentile(perRecord, 99),
        perReceipt.size(),
        Stats.percentile(perReceipt, 50),
        Stats.percentile(perReceipt, 99),
        perRow.size(),
        Stats.percentile(perRow, 50),
        Stats.percentile(perRow, 99));
  }

  /** Produces live until {@code end}; returns how many records were sent. */
  private static long produce(
      LocalKafka kafka,
      String prefix,
      int tenants,
      double rate,
      Instant start,
      Instant end,
      Map<String, Long> sourceTs)
      throws InterruptedException {
    BenchData.Feed feed =
        new BenchData.Feed(
            prefix,
            tenants,
            TrafficGenerator.Config.builder(start)
                .meanGap(Duration.ofNanos((long) (1e9 / rate)))
                // No snapshot burst: every record is due at its own time.
                .snapshotOrders(0));
    Map<String, Object> config =
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            kafka.bootstrapServers(),
            ProducerConfig.ACKS_CONFIG,
            "all",
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
            true,
            ProducerConfig.LINGER_MS_CONFIG,
            1,
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
            ByteArraySerializer.class,
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
            ByteArraySerializer.class);
    long sent = 0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config)) {
      while (true) {
        ProducerRecord<byte[], byte[]> r = feed.next();
        if (r.timestamp() > end.toEpochMilli()) {
          break;
        }
        long wait = r.timestamp() - System.currentTimeMillis();
        if (wait > 0) {
          Thread.sleep(wait);
        }
        long ts = r.timestamp();
        producer.send(
            r,
            (meta, e) -> {
              if (e == null) {
                sourceTs.put(meta.topic() + "/" + meta.partition() + "@" + meta.offset(), ts);
              }
            });
        sent++;
      }
      producer.flush();
    }
    return sent;
  }

  /** An audit event's value and when the consumer saw it. */
  record Visible(long at, byte[] value) {
    JsonNode json() {
      try {
        return JSON.readTree(value);
      } catch (IOException notJson) {
        return JSON.missingNode();
      }
    }
  }

  private static void consume(
      LocalKafka kafka, String topic, AtomicBoolean running, List<Visible> out) {
    Map<String, Object> config =
        Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            kafka.bootstrapServers(),
            ConsumerConfig.ISOLATION_LEVEL_CONFIG,
            "read_committed",
            ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
            ByteArrayDeserializer.class,
            ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
            ByteArrayDeserializer.class);
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(config)) {
      List<TopicPartition> parts =
          c.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(p.topic(), p.partition()))
              .toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      while (running.get()) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(50))) {
          Visible v = new Visible(System.currentTimeMillis(), r.value());
          synchronized (out) {
            out.add(v);
          }
        }
      }
    }
  }

  /**
   * For an audit event that names one input record ({@code origin} = topic/partition@offset of a
   * record produced in this run): visible time − the record's source timestamp; else null.
   */
  static Double recordLatency(Visible v, Map<String, Long> sourceTs) {
    Long ts = sourceTs.get(v.json().path("origin").asText());
    return ts == null ? null : (double) (v.at() - ts);
  }

  /** For a window receipt: visible time − (window end + allowed lateness); else null. */
  static Double receiptLatency(Visible v, long latenessMillis) {
    JsonNode e = v.json();
    if (!e.path("type").asText().equals("WINDOW_RECEIPT") || !e.hasNonNull("window_end")) {
      return null;
    }
    long end = Instant.parse(e.path("window_end").asText()).toEpochMilli();
    return (double) (v.at() - (end + latenessMillis));
  }

  private static List<Double> warehouseLatencies(LocalWarehouse warehouse, long latenessMillis)
      throws SQLException {
    List<Double> out = new ArrayList<>();
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT extract(epoch FROM exported_at) * 1000, extract(epoch FROM window_end) * 1000"
                    + " FROM tenant_export.metric_rollup")) {
      while (rs.next()) {
        out.add(rs.getDouble(1) - (rs.getDouble(2) + latenessMillis));
      }
    }
    return out;
  }

  private static void awaitAllRunning(LocalFlinkCluster cluster, String jobId)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode job = cluster.get("/jobs/" + jobId);
      // Bounded sources (the job-start audit event) may already have finished.
      boolean all = job.path("vertices").size() > 0;
      for (JsonNode v : job.path("vertices")) {
        all &= v.path("status").asText().matches("RUNNING|FINISHED");
      }
      if (all) {
        return;
      }
      if (!job.path("state").asText().matches("RUNNING|CREATED|INITIALIZING")) {
        throw new IllegalStateException(
            "latency run: job "
                + jobId
                + " is "
                + job.path("state").asText()
                + " before any input");
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("latency run: job " + jobId + " not running within 3 minutes");
  }
}
