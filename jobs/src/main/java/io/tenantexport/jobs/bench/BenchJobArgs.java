package io.tenantexport.jobs.bench;

import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.io.RawRecordDeserializer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The settings the benchmark's comparison jobs ({@link DiscardCeilingJob}, {@link BareFileSinkJob})
 * share with the full pipeline, so that the three differ only in what they do with a decoded
 * change: the same bounded Kafka source (earliest offsets up to the end offsets seen at start, as
 * {@code kafka.bounded: true}), parallelism, max parallelism, exactly-once checkpoint interval, no
 * generic (Kryo) types and no unaligned checkpoints, as {@code TenantExportPipeline.configure} sets
 * them.
 *
 * <p>Arguments, all required: {@code --bootstrap-servers}, {@code --topics} (comma-separated),
 * {@code --group-id}, {@code --spec} (the export spec file), {@code --parallelism}, {@code
 * --max-parallelism}, {@code --checkpoint-interval-ms}; {@link BareFileSinkJob} also {@code --lake}
 * (a Flink file system URI).
 */
record BenchJobArgs(
    String bootstrapServers,
    List<String> topics,
    String groupId,
    ExportSpec spec,
    int parallelism,
    int maxParallelism,
    Duration checkpointInterval,
    String lake) {

  private static final Set<String> KEYS =
      Set.of(
          "bootstrap-servers",
          "topics",
          "group-id",
          "spec",
          "parallelism",
          "max-parallelism",
          "checkpoint-interval-ms",
          "lake");

  /** Parses {@code --key value} pairs; {@code needsLake}: whether {@code --lake} is required. */
  static BenchJobArgs parse(String job, String[] args, boolean needsLake) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      String key = args[i].startsWith("--") ? args[i].substring(2) : null;
      if (key == null || !KEYS.contains(key) || i + 1 >= args.length) {
        throw new IllegalArgumentException(
            job
                + ": unexpected argument '"
                + args[i]
                + "'; expected --<key> <value>, keys "
                + KEYS);
      }
      m.put(key, args[i + 1]);
    }
    for (String k : KEYS) {
      if (!m.containsKey(k) && (needsLake || !k.equals("lake"))) {
        throw new IllegalArgumentException(job + ": missing argument --" + k);
      }
    }
    return new BenchJobArgs(
        m.get("bootstrap-servers"),
        List.of(m.get("topics").split(",")),
        m.get("group-id"),
        ExportSpec.load(Path.of(m.get("spec"))),
        positive(job, "parallelism", m.get("parallelism")),
        positive(job, "max-parallelism", m.get("max-parallelism")),
        Duration.ofMillis(positive(job, "checkpoint-interval-ms", m.get("checkpoint-interval-ms"))),
        m.get("lake"));
  }

  private static int positive(String job, String key, String value) {
    try {
      int n = Integer.parseInt(value);
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // Reported below with the key.
    }
    throw new IllegalArgumentException(
        job + ": --" + key + " must be a positive integer, got '" + value + "'");
  }

  /** Parallelism, checkpointing and type settings as the full pipeline has them. */
  StreamExecutionEnvironment environment() {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(parallelism);
    env.setMaxParallelism(maxParallelism);
    env.enableCheckpointing(checkpointInterval.toMillis(), CheckpointingMode.EXACTLY_ONCE);
    Configuration conf = new Configuration();
    conf.set(PipelineOptions.GENERIC_TYPES, false);
    conf.set(CheckpointingOptions.ENABLE_UNALIGNED, false);
    env.configure(conf);
    return env;
  }

  /** The CDC topics, from the earliest offsets to the end offsets seen when the job starts. */
  DataStream<RawRecord> source(StreamExecutionEnvironment env) {
    KafkaSource<RawRecord> source =
        KafkaSource.<RawRecord>builder()
            .setBootstrapServers(bootstrapServers)
            .setGroupId(groupId)
            .setTopics(topics)
            .setDeserializer(new RawRecordDeserializer())
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setBounded(OffsetsInitializer.latest())
            .setProperty("commit.offsets.on.checkpoint", "true")
            .build();
    return env.fromSource(
            source,
            WatermarkStrategy.noWatermarks(),
            "cdc-source",
            TypeInformation.of(RawRecord.class))
        .uid("cdc-source");
  }
}
