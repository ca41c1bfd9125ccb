package io.tenantexport.jobs.operators;

import io.tenantexport.schemas.LakeBuffer;
import io.tenantexport.schemas.LakeRecord;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Holds each lake bucket's rows ({@code tenant_id=…/dt=…}, the key) in keyed state until they make
 * a file worth writing, then emits them in one contiguous run, which {@code LakeFileSink} writes as
 * one Parquet file. This is what keeps the lake writer's heap independent of the number of tenants:
 * rows wait in state (RocksDB in production: on disk), not in open Parquet writers, and the sink
 * never has more than one file open.
 *
 * <p>Invariants:
 *
 * <ul>
 *   <li>A bucket is emitted when its buffered rows reach {@code lake.target_file_size} (estimated
 *       uncompressed bytes: a busy tenant's files roll on size), when its oldest row has waited
 *       {@code lake.max_file_age} (a quiet tenant's files roll on age: at most one file per bucket
 *       per max age, which is the lake's freshness), or at the end of a bounded input or a drain
 *       (the {@code Long.MAX_VALUE} event-time timer, as in {@link TenantWindowAggregator}).
 *   <li>An emitted run is contiguous and holds one bucket only: the emission happens inside one
 *       call, and the sink is chained behind this operator (forward, same parallelism).
 *   <li>Exactly-once: rows leave the state in the same step in which they are emitted; a checkpoint
 *       either has them in state or in the sink's files of that checkpoint, never both or neither.
 *   <li>After a restore, a bucket keeps its due time (processing time): a bucket overdue at restore
 *       is written at once.
 * </ul>
 */
public final class LakeFileBuffer extends KeyedProcessFunction<String, LakeRecord, LakeRecord> {
  private static final long serialVersionUID = 1L;
  private static final long DRAIN = Long.MAX_VALUE;
  public static final String ROWS_STATE = "lake-rows";
  public static final String BUFFER_STATE = "lake-buffer";

  private final long targetBytes;
  private final long maxAgeMs;

  private transient MapState<Long, LakeRecord> rows;
  private transient ValueState<LakeBuffer> meta;
  private transient Counter bySize;
  private transient Counter byAge;
  private transient Counter byDrain;

  public LakeFileBuffer(long targetBytes, long maxAgeMs) {
    if (targetBytes <= 0 || maxAgeMs <= 0) {
      throw new IllegalArgumentException(
          "target size and max age must be positive: " + targetBytes + ", " + maxAgeMs);
    }
    this.targetBytes = targetBytes;
    this.maxAgeMs = maxAgeMs;
  }

  @Override
  public void open(OpenContext openContext) {
    rows = getRuntimeContext().getMapState(rowsDescriptor());
    meta = getRuntimeContext().getState(bufferDescriptor());
    var metrics = getRuntimeContext().getMetricGroup();
    bySize = metrics.counter("lakeFilesBySize");
    byAge = metrics.counter("lakeFilesByAge");
    byDrain = metrics.counter("lakeFilesAtEnd");
  }

  /** A bucket's buffered rows by arrival number (public for the savepoint compatibility test). */
  public static MapStateDescriptor<Long, LakeRecord> rowsDescriptor() {
    return new MapStateDescriptor<>(ROWS_STATE, Types.LONG, new AvroTypeInfo<>(LakeRecord.class));
  }

  /** What a bucket holds and when it is due. */
  public static ValueStateDescriptor<LakeBuffer> bufferDescriptor() {
    return new ValueStateDescriptor<>(BUFFER_STATE, new AvroTypeInfo<>(LakeBuffer.class));
  }

  @Override
  public void processElement(LakeRecord r, Context ctx, Collector<LakeRecord> out)
      throws Exception {
    LakeBuffer m = meta.value();
    if (m == null) {
      long due = ctx.timerService().currentProcessingTime() + maxAgeMs;
      m = new LakeBuffer(0L, 0L, 0L, due);
      ctx.timerService().registerProcessingTimeTimer(due);
      ctx.timerService().registerEventTimeTimer(DRAIN);
    }
    rows.put(m.getNextSeq(), r);
    m.setNextSeq(m.getNextSeq() + 1);
    m.setRows(m.getRows() + 1);
    m.setBytes(m.getBytes() + estimatedBytes(r));
    if (m.getBytes() >= targetBytes) {
      bySize.inc();
      emit(m, ctx, out);
    } else {
      meta.update(m);
    }
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<LakeRecord> out)
      throws Exception {
    LakeBuffer m = meta.value();
    if (m == null) {
      return; // emitted on size since; the timer was deleted, or this is a drain after that
    }
    if (ctx.timeDomain() == TimeDomain.EVENT_TIME) {
      byDrain.inc();
      emit(m, ctx, out);
    } else if (timestamp >= m.getDueAt()) {
      byAge.inc();
      emit(m, ctx, out);
    }
  }

  private void emit(LakeBuffer m, Context ctx, Collector<LakeRecord> out) throws Exception {
    // Iterated, not loaded: RocksDB streams the entries, so a large bucket never sits on the heap.
    for (Map.Entry<Long, LakeRecord> e : rows.entries()) {
      out.collect(e.getValue());
    }
    rows.clear();
    meta.clear();
    ctx.timerService().deleteProcessingTimeTimer(m.getDueAt());
    ctx.timerService().deleteEventTimeTimer(DRAIN);
  }

  /**
   * Uncompressed size estimate of a row: its strings and fixed fields. Only compared with the
   * target, so it needs to be proportional, not exact.
   */
  static long estimatedBytes(LakeRecord r) {
    long n = 64L + r.getEventId().length() + r.getSourceTable().length();
    n += r.getSourcePosition().length() + r.getTenantId().length();
    for (Map.Entry<String, String> c : r.getColumns().entrySet()) {
      n += 8L + c.getKey().length() + (c.getValue() == null ? 0 : c.getValue().length());
    }
    return n;
  }
}
