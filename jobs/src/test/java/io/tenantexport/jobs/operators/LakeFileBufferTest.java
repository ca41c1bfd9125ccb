package io.tenantexport.jobs.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.jobs.io.TenantDateBucketAssigner;
import io.tenantexport.schemas.LakeRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LakeFileBufferTest {
  private static final long MAX_AGE = 60_000;
  private static final Instant DAY1 = Instant.parse("2026-11-20T10:00:00Z");
  private static final Instant DAY2 = Instant.parse("2026-11-21T10:00:00Z");

  private KeyedOneInputStreamOperatorTestHarness<String, LakeRecord, LakeRecord> harness;

  @AfterEach
  void close() throws Exception {
    if (harness != null) {
      harness.close();
    }
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, LakeRecord, LakeRecord> open(
      long targetBytes, OperatorSubtaskState restore) throws Exception {
    var h =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(new LakeFileBuffer(targetBytes, MAX_AGE)),
            TenantDateBucketAssigner::bucketId,
            Types.STRING);
    if (restore != null) {
      h.initializeState(restore);
    }
    h.open();
    return h;
  }

  private static int seq;

  private static LakeRecord row(String tenant, Instant eventTime) {
    int n = seq++;
    return LakeRecord.newBuilder()
        .setEventId("e" + n)
        .setTenantId(tenant)
        .setSourceTable("orders")
        .setOp("c")
        .setEventTime(eventTime)
        .setSourceTs(eventTime)
        .setSourcePosition("pg:lsn=" + n)
        .setExportVersion(1)
        .setColumns(Map.of("tenant_id", tenant, "amount", Integer.toString(n)))
        .build();
  }

  private List<LakeRecord> emitted() {
    List<LakeRecord> out = new ArrayList<>();
    for (Object o : harness.getOutput()) {
      if (o instanceof StreamRecord<?> r) {
        out.add((LakeRecord) r.getValue());
      }
    }
    return out;
  }

  private static List<String> buckets(List<LakeRecord> rows) {
    return rows.stream().map(TenantDateBucketAssigner::bucketId).toList();
  }

  @Test
  void aQuietBucketWaitsForItsMaxAgeThenLeavesInOneRun() throws Exception {
    harness = open(1 << 20, null);
    harness.setProcessingTime(1_000);
    harness.processElement(row("t1", DAY1), 0);
    harness.setProcessingTime(30_000);
    harness.processElement(row("t1", DAY1), 0);
    harness.processElement(row("t2", DAY1), 0);
    harness.setProcessingTime(60_999);
    assertThat(emitted()).isEmpty();

    harness.setProcessingTime(61_000); // t1 due: first row at 1 s + 60 s
    assertThat(buckets(emitted()))
        .containsExactly("tenant_id=t1/dt=2026-11-20", "tenant_id=t1/dt=2026-11-20");
    harness.setProcessingTime(90_000); // t2's first row came at 30 s
    assertThat(buckets(emitted())).endsWith("tenant_id=t2/dt=2026-11-20").hasSize(3);
  }

  @Test
  void aBusyBucketLeavesOnSizeAndEachDayIsItsOwnBucket() throws Exception {
    long one = LakeFileBuffer.estimatedBytes(row("t1", DAY1));
    harness = open(3 * one, null);
    harness.setProcessingTime(0);
    harness.processElement(row("t1", DAY1), 0);
    harness.processElement(row("t1", DAY2), 0);
    harness.processElement(row("t1", DAY1), 0);
    assertThat(emitted()).isEmpty();
    harness.processElement(row("t1", DAY1), 0); // third row of day 1 reaches the target
    assertThat(buckets(emitted())).containsOnly("tenant_id=t1/dt=2026-11-20").hasSize(3);

    // The size emission deleted day 1's age timer; a new row starts a new file and a new age.
    harness.setProcessingTime(10_000);
    harness.processElement(row("t1", DAY1), 0);
    harness.setProcessingTime(60_000); // day 2's age (first row at 0)
    assertThat(buckets(emitted())).hasSize(4).endsWith("tenant_id=t1/dt=2026-11-21");
    harness.setProcessingTime(70_000);
    assertThat(buckets(emitted())).hasSize(5).endsWith("tenant_id=t1/dt=2026-11-20");
  }

  @Test
  void theEndOfInputEmptiesEveryBucketContiguously() throws Exception {
    harness = open(1 << 20, null);
    harness.setProcessingTime(0);
    for (int i = 0; i < 30; i++) {
      harness.processElement(row("t" + (i % 3), i % 2 == 0 ? DAY1 : DAY2), 0);
    }
    harness.processWatermark(new Watermark(Long.MAX_VALUE));
    List<String> out = buckets(emitted());
    assertThat(out).hasSize(30);
    // Six buckets, each one contiguous run: the sink opens one file per run.
    int runs = 1;
    for (int i = 1; i < out.size(); i++) {
      if (!out.get(i).equals(out.get(i - 1))) {
        runs++;
      }
    }
    assertThat(runs).isEqualTo(6);
  }

  @Test
  void bufferedRowsAndTheirDueTimeSurviveARestore() throws Exception {
    harness = open(1 << 20, null);
    harness.setProcessingTime(5_000);
    LakeRecord a = row("t1", DAY1);
    LakeRecord b = row("t1", DAY1);
    harness.processElement(a, 0);
    harness.processElement(b, 0);
    OperatorSubtaskState snapshot = harness.snapshot(1, 6_000);
    harness.close();

    harness = open(1 << 20, snapshot);
    harness.setProcessingTime(64_999);
    assertThat(emitted()).isEmpty();
    harness.setProcessingTime(65_000);
    assertThat(emitted()).containsExactly(a, b);
    harness.processWatermark(new Watermark(Long.MAX_VALUE));
    assertThat(emitted()).hasSize(2); // nothing left, nothing twice
  }
}
