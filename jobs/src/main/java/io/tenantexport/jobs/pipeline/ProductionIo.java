package io.tenantexport.jobs.pipeline;

import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.common.spec.TableSpec;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.io.JsonTopicSerializer;
import io.tenantexport.jobs.io.LakeFileSink;
import io.tenantexport.jobs.io.PolicyDocumentDeserializer;
import io.tenantexport.jobs.io.RawRecordDeserializer;
import io.tenantexport.jobs.io.WarehouseUpsert;
import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.PolicyDocument;
import io.tenantexport.schemas.QuarantineRecord;
import io.tenantexport.schemas.WarehouseRollup;
import java.util.regex.Pattern;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.jdbc.JdbcConnectionOptions;
import org.apache.flink.connector.jdbc.JdbcExecutionOptions;
import org.apache.flink.connector.jdbc.core.datastream.sink.JdbcSink;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/** Builds the real source and sinks from the validated job configuration. */
public final class ProductionIo {
  private ProductionIo() {}

  public static PipelineIo create(JobConfig c) {
    return new PipelineIo(
        cdcSource(c), policySource(c), lake(c), warehouse(c), audit(c), quarantine(c));
  }

  /**
   * The policy control topic, always read from its beginning when the job starts without state: the
   * newest valid version per tenant wins, so the whole history is safe to re-read (keep the topic
   * compacted by key). A restored job continues from its checkpointed offsets.
   */
  public static KafkaSource<PolicyDocument> policySource(JobConfig c) {
    KafkaSourceBuilder<PolicyDocument> b =
        KafkaSource.<PolicyDocument>builder()
            .setBootstrapServers(c.bootstrapServers())
            .setGroupId(c.groupId() + "-policies")
            .setTopics(c.policyControlTopic())
            .setDeserializer(new PolicyDocumentDeserializer())
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setProperty("commit.offsets.on.checkpoint", "true")
            .setProperty("partition.discovery.interval.ms", "30000");
    if (c.bounded()) {
      b.setBounded(OffsetsInitializer.latest());
    }
    return b.build();
  }

  public static KafkaSource<RawRecord> cdcSource(JobConfig c) {
    KafkaSourceBuilder<RawRecord> b =
        KafkaSource.<RawRecord>builder()
            .setBootstrapServers(c.bootstrapServers())
            .setGroupId(c.groupId())
            .setDeserializer(new RawRecordDeserializer())
            // Offsets are committed on checkpoints for monitoring only; restores use the
            // checkpoint's.
            .setProperty("commit.offsets.on.checkpoint", "true")
            .setProperty("partition.discovery.interval.ms", "30000");
    if (c.topicPattern().isEmpty()) {
      b.setTopics(c.topics());
    } else {
      b.setTopicPattern(Pattern.compile(c.topicPattern()));
    }
    if (c.isReplay()) {
      ReplayReach reach = ReplayReach.of(c);
      b.setStartingOffsets(OffsetsInitializer.timestamp(reach.firstRecordTime()));
      b.setBounded(OffsetsInitializer.timestamp(reach.endRecordTime()));
      return b.build();
    }
    switch (c.startingOffsets()) {
      case EARLIEST -> b.setStartingOffsets(OffsetsInitializer.earliest());
      case LATEST -> b.setStartingOffsets(OffsetsInitializer.latest());
      default ->
          b.setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST));
    }
    if (c.bounded()) {
      b.setBounded(OffsetsInitializer.latest());
    }
    return b.build();
  }

  /**
   * The Kafka timestamps a replay of event times [from, to) reads. It starts as far before {@code
   * from} as the live job keeps a mutable row's image ({@code retention}, at least the spec's
   * max_event_time_ahead plus allowed lateness): an in-range update without a before image, or a
   * key-only delete, retracts the image the live job recalls from its row state, and the replay,
   * which starts without state, must have read the change that wrote it. It ends at {@code to} plus
   * the allowed lateness and max_event_time_ahead (a change of the range arriving later was late
   * for the live job too, and stays the live job's lake row). Records outside the range only build
   * state: outputs are filtered by event time ({@code ExportScope}). The end is exclusive, and
   * never beyond the end offsets at start (Kafka's own bound when no record is that late yet).
   */
  public record ReplayReach(long firstRecordTime, long endRecordTime) {
    public static ReplayReach of(JobConfig c) {
      long margin = c.spec().maxEventTimeAhead().plus(c.spec().allowedLateness()).toMillis();
      long back = margin;
      for (TableSpec t : c.spec().tables().values()) {
        if (t.isMutable()) {
          back = Math.max(back, t.retention().toMillis());
        }
      }
      return new ReplayReach(
          c.replayFrom().toEpochMilli() - back, c.replayTo().toEpochMilli() + margin);
    }
  }

  /**
   * Parquet, exactly-once, one file open per subtask: files become visible only when the checkpoint
   * that covers them completes (see {@link LakeFileSink}; the pipeline buffers rows per bucket in
   * front of it).
   */
  public static LakeFileSink lake(JobConfig c) {
    return new LakeFileSink(c.lakePath(), partPrefix(c.spec().version()), c.lakeRowGroupSize());
  }

  /**
   * Lake files start with {@code part-v<export version>-}: a rollback retracts the files of the
   * export version it undoes by name, without opening every file of the lake.
   */
  public static String partPrefix(int exportVersion) {
    return "part-v" + exportVersion;
  }

  public static JdbcSink<WarehouseRollup> warehouse(JobConfig c) {
    return JdbcSink.<WarehouseRollup>builder()
        .withQueryStatement(WarehouseUpsert.sql(c.warehouseSchema()), new WarehouseUpsert())
        .withExecutionOptions(
            JdbcExecutionOptions.builder()
                .withBatchSize(c.warehouseBatchSize())
                .withBatchIntervalMs(c.warehouseBatchInterval().toMillis())
                .withMaxRetries(3)
                .build())
        .buildAtLeastOnce(
            new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
                .withUrl(c.warehouseUrl())
                .withDriverName("org.postgresql.Driver")
                .withUsername(c.warehouseUser())
                .withPassword(c.warehousePassword())
                .build());
  }

  public static KafkaSink<AuditEvent> audit(JobConfig c) {
    return exactlyOnce(
        c,
        c.transactionalIdPrefix() + "-audit",
        new JsonTopicSerializer<AuditEvent>(c.auditTopic(), AuditEvent::getTenantId));
  }

  public static KafkaSink<QuarantineRecord> quarantine(JobConfig c) {
    return exactlyOnce(
        c,
        c.transactionalIdPrefix() + "-quarantine",
        new JsonTopicSerializer<QuarantineRecord>(
            c.quarantineTopic(), QuarantineRecord::getTenantId));
  }

  /**
   * How long the audit and quarantine producers let a batch fill, and how large it may grow. What
   * they write becomes visible only when the checkpoint's transaction commits, and the sink flushes
   * its producer before that, so a longer wait costs no latency; with Kafka's defaults (5 ms, 16
   * KiB: four sealed quarantine records) the producers sent many small requests, and their network
   * threads took a few per cent of a TaskManager's CPU.
   */
  private static final String LINGER_MS = "200";

  private static final String BATCH_BYTES = Integer.toString(256 * 1024);

  private static <T> KafkaSink<T> exactlyOnce(
      JobConfig c, String transactionalIdPrefix, KafkaRecordSerializationSchema<T> serializer) {
    return KafkaSink.<T>builder()
        .setBootstrapServers(c.bootstrapServers())
        .setRecordSerializer(serializer)
        .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
        .setTransactionalIdPrefix(transactionalIdPrefix)
        .setProperty("transaction.timeout.ms", Long.toString(c.transactionTimeout().toMillis()))
        .setProperty("linger.ms", LINGER_MS)
        .setProperty("batch.size", BATCH_BYTES)
        .build();
  }
}
