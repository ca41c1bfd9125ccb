package io.tenantexport.jobs.pipeline;

import io.tenantexport.common.cdc.RawRecord;
import java.time.Duration;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.util.clock.RelativeClock;

/**
 * How far the job's inputs have been read, as watermarks: the window operator closes a window only
 * once every CDC partition has been read past its end plus the allowed lateness ({@code
 * TenantWindowAggregator}), so that reading a backlog partition by partition does not make the
 * partitions read later look late.
 *
 * <p>Invariants: a CDC record's time is its Kafka timestamp (the commit or capture time, which
 * Debezium topics and the replay's offset look-up already rely on); a record without one (older
 * message formats) takes the time it is read. Watermarks are per partition (Flink's per-split
 * watermarks), and the lowest one counts. A partition that has had records and then none for {@code
 * kafka.idle_partition_timeout} counts as read up to that long ago in wall-clock time, so a quiet
 * partition never holds the others back for longer; one that has had no record since the job
 * (re)started is idle after that timeout and does not count until it has one. The policy control
 * topic is always idle.
 *
 * <p>Why not Flink's {@code withIdleness} for every partition: an idle source drops watermarks, and
 * in Flink 2.2 it also drops the end-of-input watermark of a drain ({@code job stop --drain}) when
 * all its partitions are idle at that moment (FLINK-40499): the drain then flushes no window. Here
 * a source subtask is idle only while none of its partitions has had a record since it started.
 */
final class InputProgress {
  private InputProgress() {}

  static WatermarkStrategy<RawRecord> cdc(Duration idlePartitionTimeout) {
    long idleMs = idlePartitionTimeout.toMillis();
    return WatermarkStrategy.<RawRecord>forGenerator(
            ctx -> new CommitTimeWatermarks(ctx.getInputActivityClock(), idleMs))
        .withTimestampAssigner(
            (r, previous) -> r.timestamp() >= 0 ? r.timestamp() : System.currentTimeMillis());
  }

  /**
   * For inputs that carry no event time: idle from the start, so they never hold anything back and
   * never push anything forward (a watermark only rises: had this input emitted one, an operator
   * fed by it and by an idle CDC source subtask would have taken it and kept it).
   */
  static <T> WatermarkStrategy<T> never() {
    return WatermarkStrategy.forGenerator(ctx -> new AlwaysIdle<>());
  }

  /**
   * One partition's watermark (and the source output's own, which gets no records and so only ever
   * goes idle): just below the highest timestamp read; once the partition has been quiet for the
   * idle timeout, at least the wall clock minus that timeout, or idle if it never had a record.
   * Quiet is measured on Flink's input activity clock, which stops while the source is
   * back-pressured or paused, so a partition with a backlog it cannot emit is not taken for a quiet
   * one.
   */
  static final class CommitTimeWatermarks implements WatermarkGenerator<RawRecord> {
    private final RelativeClock activity;
    private final long idleMs;
    private long maxTimestamp = Long.MIN_VALUE;
    private long lastRecordAt;
    private long emitted = Long.MIN_VALUE;

    CommitTimeWatermarks(RelativeClock activity, long idleMs) {
      this.activity = activity;
      this.idleMs = idleMs;
      this.lastRecordAt = activity.relativeTimeMillis();
    }

    @Override
    public void onEvent(RawRecord event, long timestamp, WatermarkOutput output) {
      maxTimestamp = Math.max(maxTimestamp, timestamp);
      lastRecordAt = activity.relativeTimeMillis();
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
      boolean quiet = activity.relativeTimeMillis() - lastRecordAt >= idleMs;
      if (maxTimestamp == Long.MIN_VALUE) {
        if (quiet) {
          output.markIdle();
        }
        return;
      }
      long watermark = maxTimestamp - 1;
      if (quiet) {
        watermark = Math.max(watermark, System.currentTimeMillis() - idleMs);
      }
      if (watermark > emitted) {
        emitted = watermark;
        output.emitWatermark(new Watermark(watermark));
      }
    }
  }

  /** Emits no watermark and marks its output idle. */
  private static final class AlwaysIdle<T> implements WatermarkGenerator<T> {
    @Override
    public void onEvent(T event, long eventTimestamp, WatermarkOutput output) {}

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
      output.markIdle();
    }
  }
}
