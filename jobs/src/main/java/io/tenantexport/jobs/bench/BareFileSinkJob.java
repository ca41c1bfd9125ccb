package io.tenantexport.jobs.bench;

import io.tenantexport.jobs.io.TenantDateBucketAssigner;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.LakeRecord;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.formats.parquet.avro.AvroParquetWriters;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;

/**
 * Benchmark job (b), the bare baseline a user would write by hand: Kafka → decode → Flink's {@link
 * FileSink} writing bulk Parquet ({@link AvroParquetWriters}, {@link LakeRecord}) bucketed by
 * tenant ({@code tenant_id=<id>/dt=<date>/}), exactly-once, rolling on every checkpoint as bulk
 * formats must. Nothing else: no dedupe, policy, aggregation, warehouse or audit. Each subtask
 * keeps one open Parquet writer per tenant it has seen since the last checkpoint: the memory wall
 * the issue is about. Arguments: see {@link BenchJobArgs}.
 */
public final class BareFileSinkJob {
  private BareFileSinkJob() {}

  public static void main(String[] args) throws Exception {
    BenchJobArgs a = BenchJobArgs.parse("BareFileSinkJob", args, true);
    StreamExecutionEnvironment env = a.environment();
    int exportVersion = a.spec().version();
    FileSink<LakeRecord> sink =
        FileSink.forBulkFormat(
                new Path(a.lake()), AvroParquetWriters.forSpecificRecord(LakeRecord.class))
            .withBucketAssigner(new TenantDateBucketAssigner())
            .withRollingPolicy(OnCheckpointRollingPolicy.build())
            .withOutputFileConfig(
                OutputFileConfig.builder()
                    .withPartPrefix("part")
                    .withPartSuffix(".parquet")
                    .build())
            .build();
    a.source(env)
        .flatMap(new DecodeChanges(a.spec()), new AvroTypeInfo<>(ChangeEvent.class))
        .uid("decode")
        .name("decode")
        .map(e -> lakeRecord(e, exportVersion), new AvroTypeInfo<>(LakeRecord.class))
        .uid("to-lake-record")
        .name("to-lake-record")
        .sinkTo(sink)
        .uid("lake-sink")
        .name("lake-sink");
    env.execute("bench-bare-file-sink");
  }

  /** The change as a lake row: the image it leaves (before image for deletes), unredacted. */
  static LakeRecord lakeRecord(ChangeEvent e, int exportVersion) {
    Map<String, String> image = e.getOp().equals("d") ? e.getBefore() : e.getAfter();
    return LakeRecord.newBuilder()
        .setEventId(e.getEventId())
        .setTenantId(e.getTenantId())
        .setSourceTable(e.getSourceTable())
        .setOp(e.getOp())
        .setEventTime(Instant.ofEpochMilli(e.getEventTime()))
        .setSourceTs(Instant.ofEpochMilli(e.getSourceTs()))
        .setSourcePosition(e.getPositionKind() + ":" + e.getPosition())
        .setExportVersion(exportVersion)
        .setColumns(image == null ? new HashMap<>() : new HashMap<>(image))
        .build();
  }
}
