package io.tenantexport.jobs.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.common.cdc.RawRecord;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.util.clock.RelativeClock;
import org.junit.jupiter.api.Test;

class InputProgressTest {
  private static final long IDLE = 10_000;

  /** Flink's input activity clock, moved by hand (it stands still under back-pressure). */
  private static final class ManualClock implements RelativeClock {
    long now;

    @Override
    public long relativeTimeMillis() {
      return now;
    }

    @Override
    public long relativeTimeNanos() {
      return now * 1_000_000;
    }
  }

  /** What a generator emitted: watermarks, and "idle" each time it marked its output idle. */
  private static final class Recorded implements WatermarkOutput {
    final List<String> events = new ArrayList<>();

    @Override
    public void emitWatermark(Watermark watermark) {
      events.add(Long.toString(watermark.getTimestamp()));
    }

    @Override
    public void markIdle() {
      events.add("idle");
    }

    @Override
    public void markActive() {
      events.add("active");
    }
  }

  private static final RawRecord RECORD = new RawRecord("t", 0, 0, 0, new byte[0], new byte[0]);

  @Test
  void aPartitionIsReadJustBelowItsHighestTimestamp() {
    ManualClock clock = new ManualClock();
    var g = new InputProgress.CommitTimeWatermarks(clock, IDLE);
    Recorded out = new Recorded();
    g.onEvent(RECORD, 5_000, out);
    g.onEvent(RECORD, 3_000, out); // out of order within the partition: no step back
    g.onPeriodicEmit(out);
    g.onPeriodicEmit(out); // nothing new: not emitted again
    assertThat(out.events).containsExactly("4999");
  }

  @Test
  void aQuietPartitionFollowsTheWallClockInsteadOfHoldingTheOthersBack() {
    // Quiet is measured on the activity clock (it stands still under back-pressure): here it
    // reaches the timeout while hardly any wall-clock time passes.
    ManualClock clock = new ManualClock();
    var g = new InputProgress.CommitTimeWatermarks(clock, IDLE);
    Recorded out = new Recorded();
    g.onEvent(RECORD, 5_000, out);
    clock.now = IDLE - 1;
    g.onPeriodicEmit(out);
    assertThat(out.events).containsExactly("4999");
    clock.now = IDLE;
    long before = System.currentTimeMillis();
    g.onPeriodicEmit(out);
    assertThat(out.events).hasSize(2).doesNotContain("idle");
    assertThat(Long.parseLong(out.events.get(1))).isGreaterThanOrEqualTo(before - IDLE);
  }

  @Test
  void aPartitionWithoutAnyRecordGoesIdleAndEmitsNothing() {
    ManualClock clock = new ManualClock();
    var g = new InputProgress.CommitTimeWatermarks(clock, IDLE);
    Recorded out = new Recorded();
    g.onPeriodicEmit(out);
    assertThat(out.events).isEmpty();
    clock.now = IDLE;
    g.onPeriodicEmit(out);
    assertThat(out.events).containsExactly("idle");
    g.onEvent(RECORD, 7_000, out);
    g.onPeriodicEmit(out);
    assertThat(out.events).containsExactly("idle", "6999");
  }

  @Test
  void thePolicyTopicIsAlwaysIdle() {
    var g = InputProgress.<String>never().createWatermarkGenerator(null);
    Recorded out = new Recorded();
    g.onEvent("policy", 1_000, out);
    g.onPeriodicEmit(out);
    assertThat(out.events).containsExactly("idle");
  }
}
