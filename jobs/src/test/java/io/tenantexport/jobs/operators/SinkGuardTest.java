package io.tenantexport.jobs.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.AuditType;
import io.tenantexport.schemas.QuarantineRecord;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SinkGuardTest {
  private static final int MAX_PARALLELISM = 128;
  private static final int PARALLELISM = 2;

  /** A record of a test sink: the tenant it names and the tenant of the partition it goes to. */
  record Row(String tenant, String partition, String rowTenant) {
    Row(String tenant, String partition) {
      this(tenant, partition, tenant);
    }
  }

  private OneInputStreamOperatorTestHarness<Row, Row> harness;

  @BeforeEach
  void setUp() throws Exception {
    harness =
        new OneInputStreamOperatorTestHarness<>(
            new ProcessOperator<>(
                new SinkGuard<Row>(
                    "test", Row::tenant, Row::partition, Row::rowTenant, Row::toString, 1, "v")),
            MAX_PARALLELISM,
            PARALLELISM,
            0);
    harness.open();
  }

  @AfterEach
  void tearDown() throws Exception {
    harness.close();
  }

  /** A tenant whose key group this subtask (0) owns, or does not own. */
  private static String tenantOnSubtask(int subtask, int nth) {
    return IntStream.range(0, 10_000)
        .mapToObj(i -> "t" + i)
        .filter(
            t ->
                KeyGroupRangeAssignment.assignKeyToParallelOperator(t, MAX_PARALLELISM, PARALLELISM)
                    == subtask)
        .skip(nth)
        .findFirst()
        .orElseThrow();
  }

  private List<QuarantineRecord> quarantined() {
    var q = harness.getSideOutput(Tags.QUARANTINE);
    return q == null ? List.of() : q.stream().map(StreamRecord::getValue).toList();
  }

  private List<AuditEvent> audited() {
    var a = harness.getSideOutput(Tags.AUDIT);
    return a == null
        ? List.of()
        : a.stream().map(StreamRecord::getValue).collect(Collectors.toList());
  }

  @Test
  void aRecordOfTheKeysOwnTenantInItsOwnPartitionPasses() throws Exception {
    String mine = tenantOnSubtask(0, 0);
    harness.processElement(new Row(mine, mine), 0);
    assertThat(harness.extractOutputValues()).containsExactly(new Row(mine, mine));
    assertThat(quarantined()).isEmpty();
  }

  @Test
  void aRecordProducedUnderAnotherTenantsKeyIsRefused() throws Exception {
    String other = tenantOnSubtask(1, 0);
    harness.processElement(new Row(other, other), 0);
    assertThat(harness.extractOutputValues()).isEmpty();
    assertThat(quarantined())
        .singleElement()
        .satisfies(
            q -> {
              assertThat(q.getReasonCode()).isEqualTo("SINK_GUARD_MISMATCH");
              assertThat(q.getReason()).contains(other, "subtask 1", "subtask 0");
              assertThat(q.getValue()).isNull();
            });
    assertThat(audited())
        .singleElement()
        .extracting(AuditEvent::getType)
        .isEqualTo(AuditType.SINK_GUARD_REJECTED);
  }

  @Test
  void aRecordBoundForAnotherTenantsPartitionIsRefused() throws Exception {
    String mine = tenantOnSubtask(0, 0);
    String neighbour = tenantOnSubtask(0, 1);
    harness.processElement(new Row(mine, neighbour), 0);
    assertThat(harness.extractOutputValues()).isEmpty();
    assertThat(quarantined())
        .singleElement()
        .satisfies(q -> assertThat(q.getReason()).contains(neighbour));
  }

  @Test
  void hostileTenantIdsNeverPass() throws Exception {
    for (String hostile : List.of("../other", "a/b", "x'; drop table t;--", "", "t00-\u0430cme")) {
      harness.processElement(new Row(hostile, hostile), 0);
    }
    harness.processElement(new Row(null, null), 0);
    assertThat(harness.extractOutputValues()).isEmpty();
    assertThat(quarantined()).hasSize(6).allSatisfy(q -> assertThat(q.getTenantId()).isNull());
  }

  @Test
  void aRowWhoseTenantColumnNamesAnotherTenantIsRefused() throws Exception {
    String mine = tenantOnSubtask(0, 0);
    harness.processElement(new Row(mine, mine, "globex"), 0);
    harness.processElement(new Row(mine, mine, null), 0);
    assertThat(harness.extractOutputValues()).containsExactly(new Row(mine, mine, null));
    assertThat(quarantined())
        .singleElement()
        .satisfies(q -> assertThat(q.getReason()).contains("globex"));
  }
}
