package io.tenantexport.jobs.operators;

import static io.tenantexport.jobs.operators.TestChanges.T0;
import static io.tenantexport.jobs.operators.TestChanges.order;
import static io.tenantexport.jobs.operators.TestChanges.orderChange;
import static io.tenantexport.jobs.operators.TestChanges.viewInsert;
import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.common.Ids;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.AuditType;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.Disposition;
import io.tenantexport.schemas.LakeRecord;
import io.tenantexport.schemas.TenantClock;
import io.tenantexport.schemas.WarehouseRollup;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.operators.SimpleOperatorFactory;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TenantWindowAggregatorTest {
  private static final long MINUTE = 60_000;
  private static final long IDLE = 300_000;
  private KeyedOneInputStreamOperatorTestHarness<String, ChangeEvent, LakeRecord> harness;

  @BeforeEach
  void setUp() throws Exception {
    harness = newHarness();
    openCaughtUp(harness);
  }

  @AfterEach
  void tearDown() throws Exception {
    harness.close();
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, ChangeEvent, LakeRecord>
      newHarness() throws Exception {
    return newHarness(JobConfig.DEFAULT_CACHED_WINDOWS);
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, ChangeEvent, LakeRecord> newHarness(
      int cachedWindows) throws Exception {
    return newHarness(TestChanges.SPEC, cachedWindows);
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, ChangeEvent, LakeRecord> newHarness(
      ExportSpec spec, int cachedWindows) throws Exception {
    return new KeyedOneInputStreamOperatorTestHarness<>(
        new TenantWindowOperator(new TenantWindowAggregator(spec, "test", IDLE, cachedWindows)),
        ChangeEvent::getTenantId,
        Types.STRING);
  }

  /** Replaces the harness by a fresh one with {@code spec} that has seen no watermark yet. */
  private void reopenWithoutWatermark(ExportSpec spec) throws Exception {
    harness.close();
    harness = newHarness(spec, JobConfig.DEFAULT_CACHED_WINDOWS);
    harness.open();
  }

  /**
   * Opens {@code h} with its input read to the end of time but not ended (the watermark just below
   * the end-of-input one): windows close on the tenant's clock alone, as the tests below expect.
   * Without a watermark nothing closes (see the tests of the input's progress).
   */
  private static void openCaughtUp(OneInputStreamOperatorTestHarness<ChangeEvent, LakeRecord> h)
      throws Exception {
    h.open();
    h.processWatermark(Long.MAX_VALUE - 1);
  }

  /** A checkpoint as a task takes it: the operator's pre-barrier hook, then the snapshot. */
  private static OperatorSubtaskState checkpoint(
      OneInputStreamOperatorTestHarness<ChangeEvent, LakeRecord> h, long id) throws Exception {
    h.prepareSnapshotPreBarrier(id);
    return h.snapshot(id, id);
  }

  private List<WarehouseRollup> rollups() {
    var q = harness.getSideOutput(Tags.ROLLUPS);
    return q == null
        ? List.of()
        : q.stream().map(StreamRecord::getValue).collect(Collectors.toList());
  }

  private List<AuditEvent> audits(AuditType type) {
    var q = harness.getSideOutput(Tags.AUDIT);
    return q == null
        ? List.of()
        : q.stream()
            .map(StreamRecord::getValue)
            .filter(a -> a.getType() == type)
            .collect(Collectors.toList());
  }

  private Map<String, String> values(String tenant, long windowStart) {
    return rollups().stream()
        .filter(
            r -> r.getTenantId().equals(tenant) && r.getWindowStart().toEpochMilli() == windowStart)
        .collect(
            Collectors.toMap(
                r -> r.getMetric() + r.getDimensions(), r -> String.valueOf(r.getValue())));
  }

  @Test
  void aStalledTenantDoesNotDelayAnotherAndABusyOneMakesNoOneLate() throws Exception {
    harness.processElement(viewInsert("slow", 1, T0 + 1_000, 1), 0);
    // "busy" runs ten minutes ahead: its own windows close; "slow"'s window stays open and on time.
    for (int i = 0; i < 10; i++) {
      harness.processElement(viewInsert("busy", 100 + i, T0 + i * MINUTE, 100 + i), 0);
    }
    assertThat(audits(AuditType.WINDOW_RECEIPT))
        .extracting(AuditEvent::getTenantId)
        .containsOnly("busy")
        .hasSize(8);
    harness.processElement(viewInsert("slow", 2, T0 + 2_000, 2), 0);
    assertThat(audits(AuditType.LATE_EVENT)).isEmpty();
    assertThat(harness.extractOutputValues()).noneMatch(LakeRecord::getLate);
  }

  @Test
  void windowClosesOnTheTenantsOwnClockPlusAllowedLateness() throws Exception {
    harness.processElement(viewInsert("acme", 1, T0 + 10_000, 1), 0);
    harness.processElement(
        viewInsert("acme", 2, T0 + MINUTE + 29_999, 2), 0); // lateness 30 s not yet passed
    assertThat(rollups()).isEmpty();
    harness.processElement(viewInsert("acme", 3, T0 + MINUTE + 30_000, 3), 0);
    assertThat(values("acme", T0))
        .containsEntry("view_count{\"page\":\"/home\"}", "1")
        .containsEntry("view_ms{\"page\":\"/home\"}", "10");
    AuditEvent receipt = audits(AuditType.WINDOW_RECEIPT).get(0);
    assertThat(receipt.getEventsIn()).isEqualTo(1);
    assertThat(receipt.getRollupRows()).isEqualTo(2);
    assertThat(receipt.getRollupChecksum()).hasSize(32);
  }

  @Test
  void aWindowWaitsForTheSlowestPartitionSoItsChangesAreNotLate() throws Exception {
    reopenWithoutWatermark(TestChanges.SPEC);
    // Every partition has been read up to T0: the input's watermark.
    harness.processWatermark(T0);
    harness.processElement(viewInsert("acme", 1, T0 + 10_000, 1), 0);
    // One partition runs ahead: the tenant's clock passes the end of T0's window plus lateness.
    harness.processElement(viewInsert("acme", 2, T0 + MINUTE + 30_000, 2), 0);
    assertThat(rollups()).isEmpty();
    // A partition read later still delivers a change of T0's window: it is on time.
    harness.processElement(viewInsert("acme", 3, T0 + 20_000, 3), 0);
    assertThat(audits(AuditType.LATE_EVENT)).isEmpty();
    harness.processWatermark(T0 + MINUTE + 29_999);
    assertThat(rollups()).isEmpty();
    // Every partition has passed the window's end plus lateness: the timer closes it.
    harness.processWatermark(T0 + MINUTE + 30_000);
    assertThat(values("acme", T0)).containsEntry("view_count{\"page\":\"/home\"}", "2");
    assertThat(audits(AuditType.WINDOW_RECEIPT)).hasSize(1);
    // Only now is a change of that window late.
    harness.processElement(viewInsert("acme", 4, T0 + 30_000, 4), 0);
    assertThat(audits(AuditType.LATE_EVENT)).hasSize(1);
    assertThat(harness.extractOutputValues()).filteredOn(LakeRecord::getLate).hasSize(1);
  }

  @Test
  void aWindowHeldByTheInputClosesAfterARestore() throws Exception {
    reopenWithoutWatermark(TestChanges.SPEC);
    harness.processWatermark(T0);
    harness.processElement(viewInsert("acme", 1, T0 + 10_000, 1), 0);
    harness.processElement(viewInsert("acme", 2, T0 + 3 * MINUTE, 2), 0);
    assertThat(rollups()).isEmpty();
    OperatorSubtaskState snapshot = checkpoint(harness, 1L);
    harness.close();

    harness = newHarness();
    harness.initializeState(snapshot);
    harness.open();
    // The timer that waits for the input was restored with the state.
    harness.processWatermark(T0 + 2 * MINUTE);
    assertThat(values("acme", T0)).containsEntry("view_count{\"page\":\"/home\"}", "1");
    harness.processElement(viewInsert("acme", 3, T0 + 1, 3), 0);
    assertThat(audits(AuditType.LATE_EVENT)).hasSize(1);
    // The next window still waits for the input (its end + lateness is T0 + 2.5 min).
    harness.processElement(viewInsert("acme", 4, T0 + MINUTE + 1, 4), 0);
    assertThat(audits(AuditType.LATE_EVENT)).hasSize(1);
    harness.processWatermark(T0 + 2 * MINUTE + 30_000);
    assertThat(values("acme", T0 + MINUTE)).containsEntry("view_count{\"page\":\"/home\"}", "1");
    assertThat(audits(AuditType.WINDOW_RECEIPT)).hasSize(2);
  }

  @Test
  void aChangeCommittedLaterThanItsWindowsEndPlusLatenessIsLateEvenInAnOpenWindow()
      throws Exception {
    harness.processElement(viewInsert("acme", 1, T0 + 10_000, 1), 0);
    // Same window, committed 29.999 s after its end: on time; 30 s after: late, from itself alone.
    ChangeEvent onTime = viewInsert("acme", 2, T0 + 20_000, 2);
    onTime.setSourceTs(T0 + MINUTE + 29_999);
    ChangeEvent committedLate = viewInsert("acme", 3, T0 + 30_000, 3);
    committedLate.setSourceTs(T0 + MINUTE + 30_000);
    harness.processElement(onTime, 0);
    harness.processElement(committedLate, 0);
    assertThat(audits(AuditType.LATE_EVENT)).hasSize(1);
    harness.processWatermark(Long.MAX_VALUE);
    assertThat(values("acme", T0)).containsEntry("view_count{\"page\":\"/home\"}", "2");
  }

  @Test
  void withoutAWatermarkNothingClosesEvenWithoutLateness() throws Exception {
    reopenWithoutWatermark(TestChanges.spec("0s"));
    harness.processElement(viewInsert("acme", 1, T0, 1), 0);
    harness.processElement(viewInsert("acme", 2, T0 + 5 * MINUTE, 2), 0);
    assertThat(rollups()).isEmpty();
    harness.processWatermark(T0 + 5 * MINUTE);
    assertThat(values("acme", T0)).containsEntry("view_count{\"page\":\"/home\"}", "1");
  }

  @Test
  void aQuietTenantsWindowsCloseOnlyAsFarAsTheInputHasCome() throws Exception {
    reopenWithoutWatermark(TestChanges.SPEC);
    harness.setProcessingTime(0);
    harness.processWatermark(T0);
    harness.processElement(viewInsert("acme", 1, T0 + 10_000, 1), 0);
    harness.processElement(viewInsert("acme", 2, T0 + 3 * MINUTE, 2), 0);
    // The tenant goes quiet while a slower partition is still being read.
    harness.setProcessingTime(IDLE);
    assertThat(rollups()).isEmpty();
    harness.processWatermark(T0 + MINUTE + 30_000);
    assertThat(values("acme", T0)).containsEntry("view_count{\"page\":\"/home\"}", "1");
    // The tenant's clock allows no more, but the tenant is quiet: the rest closes as soon as the
    // input has passed it, without waiting for another idle timeout.
    harness.processWatermark(T0 + 10 * MINUTE);
    assertThat(values("acme", T0 + 3 * MINUTE))
        .containsEntry("view_count{\"page\":\"/home\"}", "1");
  }

  @Test
  void idleTenantIsFlushedOnProcessingTime() throws Exception {
    harness.setProcessingTime(0);
    harness.processElement(viewInsert("quiet", 1, T0, 1), 0);
    harness.setProcessingTime(IDLE - 1);
    assertThat(rollups()).isEmpty();
    harness.setProcessingTime(IDLE);
    assertThat(values("quiet", T0)).containsEntry("view_count{\"page\":\"/home\"}", "1");
    // Only the clock is left for the tenant: no window stays in state once closed.
    assertThat(harness.numKeyedStateEntries()).isEqualTo(1);
  }

  @Test
  void restoredIdleTimerWaitsAFullTimeoutBeforeFlushing() throws Exception {
    harness.setProcessingTime(0);
    harness.processElement(viewInsert("acme", 1, T0, 1), 0);
    OperatorSubtaskState snapshot = checkpoint(harness, 1L);
    harness.close();

    harness = newHarness();
    harness.initializeState(snapshot);
    openCaughtUp(harness);
    // The restore happens long after the timer was due: it fires at once, while the backlog
    // replays.
    harness.setProcessingTime(3 * IDLE);
    assertThat(rollups()).isEmpty();
    harness.setProcessingTime(4 * IDLE);
    assertThat(values("acme", T0)).containsEntry("view_count{\"page\":\"/home\"}", "1");
  }

  @Test
  void countAndSumStayExactUnderUpdatesAndDeletes() throws Exception {
    var created = order("acme", 7, T0, "created", "10.00");
    var paid = order("acme", 7, T0 + 1, "paid", "12.50");
    harness.processElement(orderChange("acme", "c", 7, T0, 1, null, created), 0);
    harness.processElement(
        orderChange("acme", "c", 8, T0, 2, null, order("acme", 8, T0, "created", "5.25")), 0);
    harness.processElement(orderChange("acme", "u", 7, T0 + 1, 3, created, paid), 0);
    harness.processElement(
        orderChange("acme", "d", 8, T0 + 2, 4, order("acme", 8, T0, "created", "5.25"), null), 0);
    harness.processWatermark(Long.MAX_VALUE);

    assertThat(values("acme", T0))
        .containsEntry("order_count{\"status\":\"created\"}", "0") // +1 +1 -1 (moved) -1 (deleted)
        .containsEntry("order_amount{\"status\":\"created\"}", "0.00")
        .containsEntry("order_count{\"status\":\"paid\"}", "1")
        .containsEntry("order_amount{\"status\":\"paid\"}", "12.50")
        // max is over values written in the window; a retraction does not lower it.
        .containsEntry("order_max{\"status\":\"created\"}", "10.00");
  }

  @Test
  void snapshotReadCarryingTheHeldImageReplacesTheRow() throws Exception {
    var created = order("acme", 7, T0, "created", "10.00");
    harness.processElement(orderChange("acme", "c", 7, T0, 1, null, created), 0);
    harness.processElement(orderChange("acme", "r", 7, T0 + 1, 2, created, created), 0);
    harness.processWatermark(Long.MAX_VALUE);
    assertThat(values("acme", T0))
        .containsEntry("order_count{\"status\":\"created\"}", "1")
        .containsEntry("order_amount{\"status\":\"created\"}", "10.00");
  }

  @Test
  void aJobResumedFromADrainedSavepointDrainsAgain() throws Exception {
    harness.processElement(viewInsert("acme", 1, T0, 1), 0);
    harness.processWatermark(Long.MAX_VALUE); // the drain: flushes, consumes the end-of-input timer
    assertThat(audits(AuditType.WINDOW_RECEIPT)).hasSize(1);
    OperatorSubtaskState snapshot = checkpoint(harness, 1L);
    harness.close();

    harness = newHarness();
    harness.initializeState(snapshot);
    openCaughtUp(harness);
    harness.processElement(viewInsert("acme", 2, T0 + 10 * MINUTE, 2), 0);
    harness.processWatermark(Long.MAX_VALUE);
    assertThat(values("acme", T0 + 10 * MINUTE))
        .containsEntry("view_count{\"page\":\"/home\"}", "1");
  }

  @Test
  void updateWithoutAnyBeforeImageIsExportedButNotHalfApplied() throws Exception {
    harness.processElement(
        orderChange("acme", "u", 7, T0, 3, null, order("acme", 7, T0, "paid", "12.50")), 0);
    harness.processWatermark(Long.MAX_VALUE);
    assertThat(harness.extractOutputValues()).hasSize(1);
    assertThat(rollups()).isEmpty();
    assertThat(audits(AuditType.WINDOW_RECEIPT).get(0).getEventsIn()).isEqualTo(1);
  }

  @Test
  void lateChangeReachesTheLakeIsAuditedAndLeavesClosedWindowsAlone() throws Exception {
    harness.processElement(viewInsert("acme", 1, T0, 1), 0);
    harness.processElement(viewInsert("acme", 2, T0 + 5 * MINUTE, 2), 0); // closes T0's window
    int rollupsBefore = rollups().size();
    harness.processElement(viewInsert("acme", 3, T0 + 5_000, 3), 0); // for the closed window

    assertThat(harness.extractOutputValues()).filteredOn(LakeRecord::getLate).hasSize(1);
    assertThat(audits(AuditType.LATE_EVENT)).hasSize(1);
    assertThat(rollups()).hasSize(rollupsBefore);
    harness.processWatermark(Long.MAX_VALUE);
    assertThat(audits(AuditType.WINDOW_RECEIPT))
        .extracting(AuditEvent::getLateEvents)
        .containsExactly(0L, 1L);
    assertThat(values("acme", T0)).containsEntry("view_count{\"page\":\"/home\"}", "1");
  }

  @Test
  void duplicateAndQuarantineMarkersAreCountedInTheReceiptOnly() throws Exception {
    ChangeEvent v = viewInsert("acme", 1, T0, 1);
    harness.processElement(v, 0);
    harness.processElement(
        ChangeEvent.newBuilder(v).setDisposition(Disposition.DUPLICATE).build(), 0);
    harness.processElement(
        ChangeEvent.newBuilder(v).setDisposition(Disposition.QUARANTINED).build(), 0);
    harness.processWatermark(Long.MAX_VALUE);

    AuditEvent receipt = audits(AuditType.WINDOW_RECEIPT).get(0);
    assertThat(receipt.getEventsIn()).isEqualTo(1);
    assertThat(receipt.getDuplicatesSkipped()).isEqualTo(1);
    assertThat(receipt.getQuarantined()).isEqualTo(1);
    assertThat(harness.extractOutputValues()).hasSize(1);
    assertThat(values("acme", T0)).containsEntry("view_count{\"page\":\"/home\"}", "1");
  }

  @Test
  void receiptIdsNameTenantVersionAndWindowOnly() throws Exception {
    harness.setProcessingTime(1);
    harness.processElement(viewInsert("acme", 1, T0, 1), 0);
    harness.processElement(viewInsert("other", 2, T0, 2), 0);
    harness.setProcessingTime(IDLE + 1); // flushed by the idle timer, not the end of input
    List<String> ids =
        audits(AuditType.WINDOW_RECEIPT).stream().map(AuditEvent::getEventId).toList();
    assertThat(ids)
        .containsExactlyInAnyOrder(
            Ids.of("audit", "receipt", "acme", "7", Long.toString(T0)),
            Ids.of("audit", "receipt", "other", "7", Long.toString(T0)));
  }

  @Test
  void snapshotAndRestoreKeepOpenWindowsAndTheClock() throws Exception {
    harness.processElement(viewInsert("acme", 1, T0, 1), 0);
    harness.processElement(viewInsert("acme", 2, T0 + 5 * MINUTE, 2), 0);
    OperatorSubtaskState snapshot = checkpoint(harness, 1L);
    harness.close();

    harness = newHarness();
    harness.initializeState(snapshot);
    openCaughtUp(harness);
    harness.processElement(viewInsert("acme", 3, T0 + 1_000, 3), 0); // still late after restore
    harness.processElement(viewInsert("acme", 4, T0 + 5 * MINUTE + 1, 4), 0);
    harness.processWatermark(Long.MAX_VALUE);

    assertThat(audits(AuditType.LATE_EVENT)).hasSize(1);
    assertThat(values("acme", T0 + 5 * MINUTE))
        .containsEntry("view_count{\"page\":\"/home\"}", "2");
    assertThat(harness.numKeyedStateEntries()).isEqualTo(1);
  }

  @Test
  void aLakeOnlyChangeReachesTheLakeFlaggedLateAndLeavesTheWindowAlone() throws Exception {
    harness.processElement(viewInsert("acme", 1, T0 + 1_000, 1), 0);
    ChangeEvent lakeOnly = viewInsert("acme", 2, T0 + 2_000, 2);
    lakeOnly.setLakeOnly(true);
    harness.processElement(lakeOnly, 0);
    harness.processWatermark(Long.MAX_VALUE); // end of input: the window closes

    assertThat(harness.extractOutputValues())
        .extracting(LakeRecord::getLate)
        .containsExactly(false, true);
    assertThat(audits(AuditType.WINDOW_RECEIPT))
        .singleElement()
        .extracting(AuditEvent::getEventsIn)
        .isEqualTo(1L);
    assertThat(audits(AuditType.LATE_EVENT)).hasSize(1);
  }

  @Test
  void anOffboardedTenantsDiscardedWindowDoesNotComeBack() throws Exception {
    harness.processElement(viewInsert("acme", 1, T0 + 1_000, 1), 0);
    harness.processElement(viewInsert("acme", 2, T0 + 2_000, 2), 0);
    ChangeEvent offboard = viewInsert("acme", 3, T0 + 3_000, 3);
    offboard.setDisposition(Disposition.OFFBOARDED);
    harness.processElement(offboard, 0);
    // Onboarded again: the same window starts from nothing, in state and in the windows the
    // operator keeps in memory (WriteBehindWindows).
    harness.processElement(viewInsert("acme", 4, T0 + 4_000, 4), 0);
    harness.processWatermark(Long.MAX_VALUE);

    assertThat(audits(AuditType.WINDOW_RECEIPT))
        .singleElement()
        .extracting(AuditEvent::getEventsIn)
        .isEqualTo(1L);
    assertThat(values("acme", T0)).containsEntry("view_count{\"page\":\"/home\"}", "1");
  }

  /**
   * Three tenants' interleaved orders and views over several windows: every tenant with its own
   * counts, sums and maxima, updates moving rows between statuses.
   */
  private static List<ChangeEvent> interleavedTenants() {
    List<ChangeEvent> input = new java.util.ArrayList<>();
    String[] tenants = {"acme", "globex", "initech"};
    long lsn = 1;
    for (int i = 0; i < 60; i++) {
      String t = tenants[i % 3];
      long ts = T0 + i * 7_000L + (i % 3) * 1_000L;
      String amount = (i + 1) + ".25";
      var created = order(t, i, ts, "created", amount);
      input.add(orderChange(t, "c", i, ts, lsn++, null, created));
      if (i % 4 == 0) {
        input.add(
            orderChange(t, "u", i, ts + 1, lsn++, created, order(t, i, ts + 1, "paid", amount)));
      }
      if (i % 3 == 0) {
        input.add(viewInsert(t, 1_000 + i, ts + 2, lsn++));
      }
    }
    return input;
  }

  /**
   * Every rollup and receipt of {@code input}, sorted, through an operator keeping {@code
   * cachedWindows} windows in memory, checkpointed and restored into a new operator after every
   * {@code restoreEvery} changes (0: never).
   */
  private static List<String> exportOf(List<ChangeEvent> input, int cachedWindows, int restoreEvery)
      throws Exception {
    return exportOf(input, cachedWindows, restoreEvery, false);
  }

  /**
   * As above; with {@code oldClocks}, every restore also drops the open windows' starts from the
   * tenants' clocks, as clocks written by a version that did not keep them are read.
   */
  private static List<String> exportOf(
      List<ChangeEvent> input, int cachedWindows, int restoreEvery, boolean oldClocks)
      throws Exception {
    List<String> out = new java.util.ArrayList<>();
    var h = newHarness(cachedWindows);
    openCaughtUp(h);
    long checkpoint = 0;
    for (int i = 0; i < input.size(); i++) {
      h.processElement(input.get(i), 0);
      if (restoreEvery > 0 && (i + 1) % restoreEvery == 0) {
        OperatorSubtaskState snapshot = checkpoint(h, ++checkpoint);
        collect(h, out);
        h.close();
        h = newHarness(cachedWindows);
        h.initializeState(snapshot);
        openCaughtUp(h);
        if (oldClocks) {
          forgetOpenWindows(h, input);
        }
      }
    }
    h.processWatermark(Long.MAX_VALUE);
    collect(h, out);
    h.close();
    java.util.Collections.sort(out);
    return out;
  }

  private static void forgetOpenWindows(
      KeyedOneInputStreamOperatorTestHarness<String, ChangeEvent, LakeRecord> h,
      List<ChangeEvent> input)
      throws Exception {
    KeyedStateBackend<String> backend =
        ((AbstractStreamOperator<?>) h.getOperator()).getKeyedStateBackend();
    int forgotten = 0;
    for (String tenant : input.stream().map(ChangeEvent::getTenantId).distinct().toList()) {
      backend.setCurrentKey(tenant);
      ValueState<TenantClock> clock =
          backend.getPartitionedState(
              VoidNamespace.INSTANCE,
              VoidNamespaceSerializer.INSTANCE,
              TenantWindowAggregator.clockDescriptor());
      TenantClock c = clock.value();
      if (c != null && c.getOpenWindows() != null) {
        forgotten += c.getOpenWindows().size();
        c.setOpenWindows(null);
        clock.update(c);
      }
    }
    assertThat(forgotten).as("open windows forgotten at a restore").isPositive();
  }

  private static void collect(
      OneInputStreamOperatorTestHarness<ChangeEvent, LakeRecord> h, List<String> out) {
    var rollups = h.getSideOutput(Tags.ROLLUPS);
    if (rollups != null) {
      rollups.forEach(
          r -> {
            WarehouseRollup v = r.getValue();
            out.add(
                v.getTenantId()
                    + " "
                    + v.getWindowStart()
                    + " "
                    + v.getMetric()
                    + v.getDimensions()
                    + " = "
                    + v.getValue());
          });
    }
    var audits = h.getSideOutput(Tags.AUDIT);
    if (audits != null) {
      audits.forEach(
          a -> {
            AuditEvent v = a.getValue();
            out.add(
                v.getTenantId()
                    + " "
                    + v.getWindowStart()
                    + " receipt in="
                    + v.getEventsIn()
                    + " rows="
                    + v.getRollupRows()
                    + " sum="
                    + v.getRollupChecksum());
          });
    }
  }

  @Test
  void windowsEvictedFromMemoryAreWrittenUnderTheirOwnTenant() throws Exception {
    List<ChangeEvent> input = interleavedTenants();
    List<String> golden = exportOf(input, JobConfig.DEFAULT_CACHED_WINDOWS, 0);
    // acme's first window: creates 0, 3, 6, the update of 0 and views 0, 3, 6.
    assertThat(golden)
        .anyMatch(
            l -> l.startsWith("acme " + java.time.Instant.ofEpochMilli(T0) + " receipt in=7 "))
        .anyMatch(l -> l.startsWith("globex "))
        .anyMatch(l -> l.startsWith("initech "));

    // One window in memory: every change of another tenant evicts the last one's.
    assertThat(exportOf(input, 1, 0)).isEqualTo(golden);
  }

  @Test
  void clocksWrittenBeforeTheyKeptTheirOpenWindowsFindThemInTheWindowsState() throws Exception {
    List<ChangeEvent> input = interleavedTenants();
    List<String> golden = exportOf(input, JobConfig.DEFAULT_CACHED_WINDOWS, 0);

    assertThat(exportOf(input, JobConfig.DEFAULT_CACHED_WINDOWS, 5, true)).isEqualTo(golden);
    assertThat(exportOf(input, 1, 4, true)).isEqualTo(golden);
  }

  @Test
  void aCheckpointHoldsEveryWindowChangedSinceTheLastOne() throws Exception {
    List<ChangeEvent> input = interleavedTenants();
    List<String> golden = exportOf(input, JobConfig.DEFAULT_CACHED_WINDOWS, 0);

    assertThat(exportOf(input, JobConfig.DEFAULT_CACHED_WINDOWS, 5)).isEqualTo(golden);
    assertThat(exportOf(input, 1, 4)).isEqualTo(golden);
  }

  @Test
  void thePipelinesWindowOperatorKeepsAsManyWindowsAsConfigured() {
    JobConfig c =
        JobConfig.load(
            Path.of("../deploy/job.yaml"),
            new String[] {"--job.cached_windows=7"},
            Map.of(JobConfig.PASSWORD_ENV, "unused"));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    TenantExportPipeline.configure(env, c);
    TenantExportPipeline.build(env, c, ProductionIo.create(c));
    List<Integer> cached = new ArrayList<>();
    for (StreamNode n : env.getStreamGraph().getStreamNodes()) {
      if (n.getOperatorFactory() instanceof SimpleOperatorFactory<?> f
          && f.getOperator() instanceof TenantWindowOperator w) {
        cached.add(((TenantWindowAggregator) w.getUserFunction()).cachedWindows());
      }
    }
    assertThat(cached).containsExactly(7);
  }

  @Test
  void theAggregatorRefusesToRunOutsideItsOperator() throws Exception {
    var plain =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(
                new TenantWindowAggregator(
                    TestChanges.SPEC, "test", IDLE, JobConfig.DEFAULT_CACHED_WINDOWS)),
            ChangeEvent::getTenantId,
            Types.STRING);
    org.assertj.core.api.Assertions.assertThatThrownBy(plain::open)
        .hasMessageContaining("must run in a TenantWindowOperator");
  }

  @Test
  void theFieldByFieldCopyOfAWindowEqualsAvrosDeepCopyAndSharesNothingMutable() {
    assertThat(WriteBehindWindows.COPY_KNOWS_EVERY_FIELD)
        .as(
            "TenantWindow or AggregateCell gained a field: teach WriteBehindWindows.copyOf about it")
        .isTrue();
    var w = io.tenantexport.common.agg.WindowAggregation.newWindow(T0);
    w.setEventsIn(7L);
    w.setDuplicatesSkipped(1L);
    w.setQuarantined(2L);
    w.setRevision(9L);
    w.setPausedSkipped(3L);
    w.setPolicyVersion(4L);
    w.getCells()
        .put(
            "views|view_count|{}",
            new io.tenantexport.schemas.AggregateCell(
                "views", "view_count", "{}", 5L, "5", null, "9"));

    var copy = WriteBehindWindows.copyOf(w);

    assertThat(copy).isEqualTo(io.tenantexport.schemas.TenantWindow.newBuilder(w).build());
    assertThat(copy.getCells()).isNotSameAs(w.getCells());
    assertThat(copy.getCells().get("views|view_count|{}"))
        .isNotSameAs(w.getCells().get("views|view_count|{}"));
  }
}
