package io.tenantexport.jobs.operators;

import static io.tenantexport.jobs.operators.TestChanges.T0;
import static io.tenantexport.jobs.operators.TestChanges.change;
import static io.tenantexport.jobs.operators.TestChanges.image;
import static io.tenantexport.jobs.operators.TestChanges.order;
import static io.tenantexport.jobs.operators.TestChanges.orderChange;
import static io.tenantexport.jobs.operators.TestChanges.replayOf;
import static io.tenantexport.jobs.operators.TestChanges.viewInsert;
import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.Disposition;
import io.tenantexport.schemas.PolicyDocument;
import io.tenantexport.schemas.QuarantineRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.heap.HeapKeyedStateBackend;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ScopeDeduplicatorTest {
  private static final long ORPHAN_TIMEOUT = 60_000;
  private KeyedBroadcastOperatorTestHarness<String, ChangeEvent, PolicyDocument, ChangeEvent>
      harness;

  @BeforeEach
  void setUp() throws Exception {
    harness = newHarness();
    harness.open();
  }

  @AfterEach
  void tearDown() throws Exception {
    harness.close();
  }

  private static KeyedBroadcastOperatorTestHarness<String, ChangeEvent, PolicyDocument, ChangeEvent>
      newHarness() throws Exception {
    return new KeyedBroadcastOperatorTestHarness<>(
        new CoBroadcastWithKeyedOperator<>(
            new ScopeDeduplicator(TestChanges.SPEC, "test", ORPHAN_TIMEOUT, Map.of(), "policies"),
            List.of(Policies.STATE)),
        ChangeEvent::getScopeKey,
        Types.STRING,
        128,
        1,
        0);
  }

  /** Keyed state entries of all keys (the broadcast harness has no such count of its own). */
  private int keyedStateEntries() {
    return ((HeapKeyedStateBackend<?>) harness.getOperator().getKeyedStateBackend())
        .numKeyValueStateEntries();
  }

  private List<ChangeEvent> out() {
    return harness.extractOutputValues();
  }

  private List<Disposition> dispositions() {
    return out().stream().map(ChangeEvent::getDisposition).collect(Collectors.toList());
  }

  private List<QuarantineRecord> quarantined() {
    return harness.getSideOutput(Tags.QUARANTINE) == null
        ? List.of()
        : harness.getSideOutput(Tags.QUARANTINE).stream()
            .map(StreamRecord::getValue)
            .collect(Collectors.toList());
  }

  @Test
  void replayedAppendOnlyChangeIsSkippedAsDuplicate() throws Exception {
    ChangeEvent first = viewInsert("acme", 1, T0, 100);
    ChangeEvent second = viewInsert("acme", 2, T0 + 1, 101);
    harness.processElement(first, 0);
    harness.processElement(second, 0);
    harness.processElement(replayOf(first), 0);
    harness.processElement(replayOf(second), 0);

    assertThat(dispositions())
        .containsExactly(
            Disposition.APPLY, Disposition.APPLY, Disposition.DUPLICATE, Disposition.DUPLICATE);
    assertThat(out().get(2).getTenantId()).isEqualTo("acme");
  }

  @Test
  void changesSharingOnePositionAreAllAppliedAndEachReplayIsCaught() throws Exception {
    // Snapshot rows share one LSN; so can two changes of one transaction. Only the digest tells
    // them apart.
    ChangeEvent a = viewInsert("acme", 1, T0, 500);
    ChangeEvent b = viewInsert("acme", 2, T0, 500);
    ChangeEvent c = viewInsert("acme", 3, T0, 500);
    for (ChangeEvent e : List.of(a, b, c, replayOf(b), replayOf(a), replayOf(c))) {
      harness.processElement(e, 0);
    }
    assertThat(dispositions())
        .containsExactly(
            Disposition.APPLY,
            Disposition.APPLY,
            Disposition.APPLY,
            Disposition.DUPLICATE,
            Disposition.DUPLICATE,
            Disposition.DUPLICATE);
  }

  @Test
  void aLargeSnapshotSharingOnePositionIsAppliedOnceAndEachReplayCaught() throws Exception {
    int rows = 20_000;
    for (int i = 0; i < rows; i++) {
      harness.processElement(viewInsert("acme", i, T0, 700), 0);
    }
    for (int i = 0; i < rows; i += 97) {
      harness.processElement(replayOf(viewInsert("acme", i, T0, 700)), 0);
    }
    harness.processElement(viewInsert("acme", rows, T0 + 1, 701), 0);
    harness.processElement(replayOf(viewInsert("acme", 3, T0, 700)), 0);

    assertThat(dispositions()).filteredOn(d -> d == Disposition.APPLY).hasSize(rows + 1);
    assertThat(dispositions())
        .filteredOn(d -> d == Disposition.DUPLICATE)
        .hasSize((rows + 96) / 97 + 1);
  }

  /** The append-only tie digests in the map state of {@code tenant}'s views scope. */
  private List<Long> tiesInMapState(String tenant) throws Exception {
    var backend = harness.getOperator().getKeyedStateBackend();
    backend.setCurrentKey(tenant + "|views");
    MapState<Long, Boolean> ties =
        backend.getPartitionedState(
            VoidNamespace.INSTANCE,
            VoidNamespaceSerializer.INSTANCE,
            ScopeDeduplicator.tiesDescriptor("views"));
    List<Long> out = new ArrayList<>();
    ties.keys().forEach(out::add);
    return out;
  }

  @Test
  void tiesStayInlineUntilTheyOutgrowTheLimitThenSurviveARestoreAndLeaveWithTheMark()
      throws Exception {
    int inline = ScopeDeduplicator.MAX_INLINE_TIES;
    // Streamed changes each move the mark: their single tie is kept inline, the map stays empty.
    for (int i = 0; i < 10; i++) {
      harness.processElement(viewInsert("acme", i, T0, 100 + i), 0);
    }
    assertThat(tiesInMapState("acme")).isEmpty();
    // As many ties at one position as fit inline: still no map.
    for (int i = 0; i < inline; i++) {
      harness.processElement(viewInsert("acme", 1000 + i, T0, 500), 0);
    }
    assertThat(tiesInMapState("acme")).isEmpty();
    // One more moves them all to the map.
    harness.processElement(viewInsert("acme", 1000 + inline, T0, 500), 0);
    assertThat(tiesInMapState("acme")).hasSize(inline + 1);

    OperatorSubtaskState snapshot = harness.snapshot(1L, 1L);
    harness.close();
    harness = newHarness();
    harness.initializeState(snapshot);
    harness.open();
    for (int i = 0; i <= inline; i += 13) {
      harness.processElement(replayOf(viewInsert("acme", 1000 + i, T0, 500)), 0);
    }
    harness.processElement(replayOf(viewInsert("acme", 1000 + inline, T0, 500)), 0);
    harness.processElement(viewInsert("acme", 2000, T0, 500), 0); // a new tie, in the map
    assertThat(dispositions())
        .containsExactly(
            Disposition.DUPLICATE,
            Disposition.DUPLICATE,
            Disposition.DUPLICATE,
            Disposition.DUPLICATE,
            Disposition.DUPLICATE,
            Disposition.DUPLICATE,
            Disposition.APPLY);

    // The mark moves on: the map is emptied and ties are inline again.
    harness.processElement(viewInsert("acme", 3000, T0, 501), 0);
    harness.processElement(viewInsert("acme", 3001, T0, 501), 0);
    assertThat(tiesInMapState("acme")).isEmpty();
    harness.processElement(replayOf(viewInsert("acme", 3001, T0, 501)), 0);
    harness.processElement(replayOf(viewInsert("acme", 2000, T0, 500)), 0);
    assertThat(dispositions().subList(7, 11))
        .containsExactly(
            Disposition.APPLY, Disposition.APPLY, Disposition.DUPLICATE, Disposition.DUPLICATE);
  }

  @Test
  void mysqlMultiRowStatementDiffersOnlyByRowAndIsNotMistakenForReplay() throws Exception {
    ChangeEvent r0 =
        change(
            "acme",
            "views",
            "c",
            T0,
            List.of(3L, 4711L, 0L),
            null,
            null,
            TestChanges.view("acme", 10, T0, "/a", 1));
    ChangeEvent r1 =
        change(
            "acme",
            "views",
            "c",
            T0,
            List.of(3L, 4711L, 1L),
            null,
            null,
            TestChanges.view("acme", 11, T0, "/a", 1));
    harness.processElement(r0, 0);
    harness.processElement(r1, 0);
    harness.processElement(replayOf(r0), 0);
    assertThat(dispositions())
        .containsExactly(Disposition.APPLY, Disposition.APPLY, Disposition.DUPLICATE);
  }

  @Test
  void updateWithoutBeforeImageGetsTheRowsLastImage() throws Exception {
    harness.processElement(
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00")), 0);
    // PostgreSQL default replica identity: no before image on updates.
    harness.processElement(
        orderChange("acme", "u", 7, T0 + 5, 101, null, order("acme", 7, T0 + 5, "paid", "12.50")),
        0);

    ChangeEvent update = out().get(1);
    assertThat(update.getBefore()).isEqualTo(order("acme", 7, T0, "created", "10.00"));
    assertThat(update.getRawKey()).isNull();
    assertThat(update.getRawValue()).isNull();
  }

  @Test
  void keyOnlyDeleteWithoutTenantIsAttributedFromRowState() throws Exception {
    harness.processElement(
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00")), 0);
    harness.processElement(orderChange(null, "d", 7, T0 + 9, 102, image("id", "7"), null), 0);

    ChangeEvent delete = out().get(1);
    assertThat(delete.getTenantId()).isEqualTo("acme");
    assertThat(delete.getBefore()).isEqualTo(order("acme", 7, T0, "created", "10.00"));
    assertThat(quarantined()).isEmpty();
  }

  @Test
  void keyOnlyDeleteWrittenWithExplicitNullsStillGetsTheStoredImage() throws Exception {
    // JsonConverter writes every field of the before struct: the missing columns arrive as nulls.
    harness.processElement(
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00")), 0);
    harness.processElement(
        orderChange(
            null,
            "d",
            7,
            T0 + 9,
            102,
            image("tenant_id", null, "id", "7", "ts", null, "status", null, "amount", null),
            null),
        0);

    ChangeEvent delete = out().get(1);
    assertThat(delete.getTenantId()).isEqualTo("acme");
    assertThat(delete.getBefore()).isEqualTo(order("acme", 7, T0, "created", "10.00"));
  }

  @Test
  void keyOnlyDeleteThatLooksCompleteBecauseTheTenantIsInTheKeyRetractsTheStoredImage()
      throws Exception {
    harness.processElement(
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00")), 0);
    // Key (tenant_id, id): the key-only image names the tenant, every other column is null.
    harness.processElement(
        orderChange(
            "acme",
            "d",
            7,
            T0 + 9,
            102,
            image("tenant_id", "acme", "id", "7", "ts", null, "status", null, "amount", null),
            null),
        0);
    assertThat(out().get(1).getBefore()).isEqualTo(order("acme", 7, T0, "created", "10.00"));
  }

  @Test
  void restoredOrphanTimerGivesTheReplayAFullTimeoutBeforeQuarantining() throws Exception {
    harness.setProcessingTime(1_000);
    harness.processElement(orderChange(null, "d", 9, T0, 102, image("id", "9"), null), 0);
    OperatorSubtaskState snapshot = harness.snapshot(1L, 1L);
    harness.close();

    harness = newHarness();
    harness.initializeState(snapshot);
    harness.open();
    harness.setProcessingTime(1_000 + 5 * ORPHAN_TIMEOUT); // restored long after the timer was due
    assertThat(quarantined()).isEmpty();
    harness.processElement(
        orderChange("acme", "c", 9, T0 - 5, 90, null, order("acme", 9, T0 - 5, "created", "1.00")),
        0);
    assertThat(out()).extracting(ChangeEvent::getOp).containsExactly("c", "d");
    assertThat(quarantined()).isEmpty();
  }

  @Test
  void snapshotReadOfARowAlreadyHeldReplacesItInsteadOfAddingIt() throws Exception {
    harness.processElement(
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00")), 0);
    // An incremental snapshot re-reads the live row at a later position.
    harness.processElement(
        orderChange("acme", "r", 7, T0 + 5, 300, null, order("acme", 7, T0, "created", "10.00")),
        0);

    assertThat(out().get(1).getDisposition()).isEqualTo(Disposition.APPLY);
    assertThat(out().get(1).getBefore()).isEqualTo(order("acme", 7, T0, "created", "10.00"));
  }

  @Test
  void deleteThatOvertakesItsInsertWaitsAndIsReleasedInPositionOrder() throws Exception {
    harness.processElement(orderChange(null, "d", 7, T0 + 9, 102, image("id", "7"), null), 0);
    assertThat(out()).isEmpty();
    harness.processElement(
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00")), 0);

    assertThat(out()).extracting(ChangeEvent::getOp).containsExactly("c", "d");
    assertThat(out().get(1).getTenantId()).isEqualTo("acme");
    assertThat(out().get(1).getBefore()).containsEntry("amount", "10.00");
    assertThat(keyedStateEntries()).isEqualTo(1); // one row, nothing pending
  }

  @Test
  void changeThatNoOneAttributesIsQuarantinedAfterTheOrphanTimeout() throws Exception {
    harness.setProcessingTime(1_000);
    harness.processElement(orderChange(null, "d", 9, T0, 102, image("id", "9"), null), 0);
    harness.setProcessingTime(1_000 + ORPHAN_TIMEOUT - 1);
    assertThat(quarantined()).isEmpty();
    harness.setProcessingTime(1_000 + ORPHAN_TIMEOUT);

    assertThat(quarantined())
        .singleElement()
        .satisfies(
            q -> {
              assertThat(q.getReasonCode()).isEqualTo("UNATTRIBUTABLE_CHANGE");
              assertThat(q.getTenantId()).isNull();
              assertThat(q.getValue())
                  .isNotNull(); // the raw bytes are kept so the record can be replayed
            });
    assertThat(out()).isEmpty();
  }

  @Test
  void endOfInputQuarantinesWhatStillWaits() throws Exception {
    harness.processElement(orderChange(null, "d", 9, T0, 102, image("id", "9"), null), 0);
    harness.watermark(Long.MAX_VALUE);
    assertThat(quarantined())
        .extracting(QuarantineRecord::getReasonCode)
        .containsExactly("UNATTRIBUTABLE_CHANGE");
  }

  @Test
  void changeClaimingAnotherTenantsRowIsRefusedEvenAtAnOldPosition() throws Exception {
    harness.processElement(
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00")), 0);
    harness.processElement(
        orderChange("evil", "u", 7, T0 + 1, 50, null, order("evil", 7, T0 + 1, "paid", "1.00")), 0);

    assertThat(quarantined())
        .extracting(QuarantineRecord::getReasonCode)
        .containsExactly("ROW_TENANT_MISMATCH");
    assertThat(quarantined().get(0).getReason()).doesNotContain("acme");
  }

  @Test
  void changeClaimingAnotherTenantsRowIsQuarantinedAndCountedForTheClaimant() throws Exception {
    harness.processElement(
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00")), 0);
    harness.processElement(
        orderChange("evil", "u", 7, T0 + 1, 101, null, order("evil", 7, T0 + 1, "paid", "1.00")),
        0);

    assertThat(quarantined())
        .extracting(QuarantineRecord::getReasonCode)
        .containsExactly("ROW_TENANT_MISMATCH");
    assertThat(out())
        .extracting(ChangeEvent::getDisposition)
        .containsExactly(Disposition.APPLY, Disposition.QUARANTINED);
    assertThat(out().get(1).getTenantId()).isEqualTo("evil");
    // The row still belongs to acme and keeps acme's image.
    harness.processElement(
        orderChange("acme", "u", 7, T0 + 2, 103, null, order("acme", 7, T0 + 2, "paid", "10.00")),
        0);
    assertThat(out().get(2).getBefore()).containsEntry("status", "created");
  }

  @Test
  void snapshotAndRestoreKeepTheHighWaterMarks() throws Exception {
    ChangeEvent insert =
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00"));
    ChangeEvent view = viewInsert("acme", 1, T0, 200);
    harness.processElement(insert, 0);
    harness.processElement(view, 0);
    OperatorSubtaskState snapshot = harness.snapshot(1L, 1L);
    harness.close();

    harness = newHarness();
    harness.initializeState(snapshot);
    harness.open();
    harness.processElement(replayOf(insert), 0);
    harness.processElement(replayOf(view), 0);
    harness.processElement(orderChange(null, "d", 7, T0 + 9, 102, image("id", "7"), null), 0);

    assertThat(dispositions())
        .containsExactly(Disposition.DUPLICATE, Disposition.DUPLICATE, Disposition.APPLY);
    assertThat(out().get(2).getBefore()).containsEntry("amount", "10.00");
  }

  @Test
  void markersPassThroughUntouched() throws Exception {
    ChangeEvent marker =
        ChangeEvent.newBuilder(viewInsert("acme", 1, T0, 1))
            .setDisposition(Disposition.QUARANTINED)
            .setScopeKey("acme")
            .build();
    harness.processElement(marker, 0);
    assertThat(out()).containsExactly(marker);
    assertThat(keyedStateEntries()).isZero();
  }

  private static PolicyDocument policy(String tenant, long version, String status) {
    return PolicyDocument.newBuilder()
        .setTenantId(tenant)
        .setText(
            "tenant: "
                + tenant
                + "\nversion: "
                + version
                + "\nstatus: "
                + status
                + "\ntables:\n  views:\n    page: keep\n  orders:\n    status: keep\n")
        .setOrigin("policies/0@" + version)
        .build();
  }

  @Test
  void offboardingClearsEveryScopeOfTheTenantAndTellsItsWindowOperator() throws Exception {
    harness.processElement(
        orderChange("globex", "c", 8, T0, 90, null, order("globex", 8, T0, "created", "1.00")), 0);
    int globexOnly = keyedStateEntries();
    harness.processElement(viewInsert("acme", 1, T0, 100), 0);
    harness.processElement(
        orderChange("acme", "c", 7, T0, 101, null, order("acme", 7, T0, "created", "10.00")), 0);
    assertThat(keyedStateEntries()).isGreaterThan(globexOnly);

    harness.processBroadcastElement(policy("acme", 2, "offboarded"), 0);

    assertThat(keyedStateEntries()).isEqualTo(globexOnly);
    ChangeEvent marker = out().get(out().size() - 1);
    assertThat(marker.getDisposition()).isEqualTo(Disposition.OFFBOARDED);
    assertThat(marker.getTenantId()).isEqualTo("acme");

    // A change decoded before the decision, still in flight: dropped, nothing recreated.
    int outputs = out().size();
    harness.processElement(viewInsert("acme", 2, T0 + 1, 102), 0);
    assertThat(out()).hasSize(outputs);
    assertThat(keyedStateEntries()).isEqualTo(globexOnly);
  }

  @Test
  void anOlderOrInvalidPolicyChangesNothing() throws Exception {
    harness.processBroadcastElement(policy("acme", 3, "active"), 0);
    harness.processBroadcastElement(policy("acme", 2, "offboarded"), 0);
    harness.processBroadcastElement(policy("acme", 4, "gone"), 0);
    harness.processElement(viewInsert("acme", 1, T0, 100), 0);
    assertThat(dispositions()).containsExactly(Disposition.APPLY);
  }

  @Test
  void policiesSurviveASnapshotAndRestore() throws Exception {
    harness.processBroadcastElement(policy("acme", 2, "offboarded"), 0);
    OperatorSubtaskState snapshot = harness.snapshot(1L, 1L);
    harness.close();
    harness = newHarness();
    harness.initializeState(snapshot);
    harness.open();
    harness.processElement(viewInsert("acme", 1, T0, 100), 0);
    assertThat(out()).isEmpty();
    assertThat(keyedStateEntries()).isZero();
  }

  @Test
  void aDeleteExportingTheStoredImageCarriesThePolicyVersionThatRedactedIt() throws Exception {
    ChangeEvent insert =
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00"));
    insert.setPolicyVersion(3L);
    harness.processElement(insert, 0);
    ChangeEvent keyOnlyDelete = orderChange(null, "d", 7, T0 + 1, 101, image("id", "7"), null);
    harness.processElement(keyOnlyDelete, 0);
    assertThat(out()).extracting(ChangeEvent::getPolicyVersion).containsExactly(3L, 3L);
    assertThat(out().get(1).getBefore()).isEqualTo(order("acme", 7, T0, "created", "10.00"));
  }

  @Test
  void aKeyOnlyDeleteOfAPausedTenantsRowChangesNothing() throws Exception {
    harness.processElement(
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00")), 0);
    int entries = keyedStateEntries();
    harness.processBroadcastElement(policy("acme", 2, "paused"), 0);
    harness.processElement(orderChange(null, "d", 7, T0 + 1, 101, image("id", "7"), null), 0);
    assertThat(dispositions()).containsExactly(Disposition.APPLY, Disposition.PAUSED);
    assertThat(out().get(1).getTenantId()).isEqualTo("acme");
    assertThat(keyedStateEntries()).isEqualTo(entries);

    // Resumed: the same delete now applies, retracting the stored image.
    harness.processBroadcastElement(policy("acme", 3, "active"), 0);
    harness.processElement(orderChange(null, "d", 7, T0 + 1, 101, image("id", "7"), null), 0);
    assertThat(dispositions())
        .containsExactly(Disposition.APPLY, Disposition.PAUSED, Disposition.APPLY);
    assertThat(out().get(2).getBefore()).isEqualTo(order("acme", 7, T0, "created", "10.00"));
  }

  @Test
  void aKeyOnlyDeleteOfATableTheOwnerMayNoLongerExportIsQuarantined() throws Exception {
    harness.processElement(
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00")), 0);
    harness.processBroadcastElement(
        PolicyDocument.newBuilder()
            .setTenantId("acme")
            .setText(
                "tenant: acme\nversion: 2\nstatus: active\ntables:\n  views:\n    page: keep\n")
            .setOrigin("policies/0@2")
            .build(),
        0);
    harness.processElement(orderChange(null, "d", 7, T0 + 1, 101, image("id", "7"), null), 0);
    assertThat(dispositions()).containsExactly(Disposition.APPLY, Disposition.QUARANTINED);
    assertThat(quarantined())
        .singleElement()
        .extracting(QuarantineRecord::getReasonCode)
        .isEqualTo("TABLE_NOT_ALLOWED");
  }

  private static ChangeEvent replayed(ChangeEvent e, String quarantinedOrigin) {
    ChangeEvent copy = ChangeEvent.newBuilder(e).build();
    copy.setReplayOf(quarantinedOrigin);
    return copy;
  }

  @Test
  void aReplayedAppendOnlyChangeBelowTheMarkIsAppliedOnceAndOnlyOnce() throws Exception {
    ChangeEvent quarantinedThen = viewInsert("acme", 1, T0, 100);
    harness.processElement(viewInsert("acme", 2, T0 + 1, 200), 0); // moved the mark past it
    harness.processElement(replayed(quarantinedThen, "cdc.public.page_views/0@7"), 0);
    harness.processElement(replayed(quarantinedThen, "cdc.public.page_views/0@7"), 0);
    // Without the replay header, the same change below the mark is a duplicate as ever.
    harness.processElement(quarantinedThen, 0);

    assertThat(dispositions())
        .containsExactly(
            Disposition.APPLY, Disposition.APPLY, Disposition.DUPLICATE, Disposition.DUPLICATE);
    assertThat(out().get(1).getLakeOnly()).isFalse();
  }

  @Test
  void aReplayedChangeOlderThanItsRowGoesToTheLakeOnlyAndKeepsTheRowState() throws Exception {
    ChangeEvent quarantinedThen =
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00"));
    harness.processElement(
        orderChange(
            "acme",
            "u",
            7,
            T0 + 1,
            200,
            order("acme", 7, T0, "created", "10.00"),
            order("acme", 7, T0 + 1, "paid", "10.00")),
        0);
    harness.processElement(replayed(quarantinedThen, "cdc.public.orders/0@3"), 0);
    // The row's state is unchanged: the next update retracts the "paid" image.
    harness.processElement(
        orderChange(
            "acme", "u", 7, T0 + 2, 300, null, order("acme", 7, T0 + 2, "shipped", "10.00")),
        0);

    assertThat(dispositions())
        .containsExactly(Disposition.APPLY, Disposition.APPLY, Disposition.APPLY);
    assertThat(out().get(1).getLakeOnly()).isTrue();
    assertThat(out().get(2).getBefore()).isEqualTo(order("acme", 7, T0 + 1, "paid", "10.00"));
  }

  @Test
  void aSecondReplayOfARowTheJobFirstLearntFromTheReplayChangesNothing() throws Exception {
    ChangeEvent insert =
        orderChange("acme", "c", 7, T0, 100, null, order("acme", 7, T0, "created", "10.00"));
    ChangeEvent update =
        orderChange(
            "acme",
            "u",
            7,
            T0 + 1,
            200,
            order("acme", 7, T0, "created", "10.00"),
            order("acme", 7, T0 + 1, "paid", "10.00"));
    // First replay: the row is new to the job, so both apply the normal way.
    harness.processElement(replayed(insert, "cdc.public.orders/0@1"), 0);
    harness.processElement(replayed(update, "cdc.public.orders/0@2"), 0);
    // Second replay: the insert now lies below the row's mark, yet it was replayed already.
    harness.processElement(replayed(insert, "cdc.public.orders/0@1"), 0);
    harness.processElement(replayed(update, "cdc.public.orders/0@2"), 0);
    assertThat(dispositions())
        .containsExactly(
            Disposition.APPLY, Disposition.APPLY, Disposition.DUPLICATE, Disposition.DUPLICATE);
  }
}
