package io.tenantexport.jobs.operators;

import io.tenantexport.common.Ids;
import io.tenantexport.common.agg.WindowAggregation;
import io.tenantexport.common.cdc.CdcDecoder;
import io.tenantexport.common.cdc.QuarantineReason;
import io.tenantexport.common.policy.PolicyBook;
import io.tenantexport.common.policy.TenantPolicy;
import io.tenantexport.common.policy.TenantStatus;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.spec.TableSpec;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.Disposition;
import io.tenantexport.schemas.PolicyDocument;
import io.tenantexport.schemas.QuarantineRecord;
import io.tenantexport.schemas.ScopeState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReadOnlyBroadcastState;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Dedupes replays and attributes row images, keyed by the change's dedupe scope ({@code
 * scope_key}): one source row for a mutable table, one tenant's table for an append-only table.
 *
 * <p>State per scope ({@link ScopeState}, plus a map of tie digests for large append-only tie
 * sets): the high-water mark (the highest source position applied) and the digests of the changes
 * applied at exactly that position. A change below the mark, or at the mark with a known digest, is
 * a replay: it leaves as a {@code DUPLICATE} marker and changes nothing. Positions alone are not
 * unique (snapshot rows share one, changes of one transaction can share an LSN, a MySQL multi-row
 * statement differs only by row), hence the digests; they are dropped as soon as the mark moves
 * past them, so the tie set holds only changes sharing the newest position. The tie set lives
 * inline in the scope's value state; an append-only scope whose tie set outgrows {@link
 * #MAX_INLINE_TIES} (a snapshot of a tenant's table: every row shares one position) moves it to a
 * map state for constant-time lookups. Inline is the common case and the cheap one: a streamed
 * append-only change moves the mark, and clearing a RocksDB map state on every such change (a seek
 * over the key's range, then a delete) was the largest cost of the whole pipeline in the benchmark.
 *
 * <p>Mutable tables also keep the row's owner and last projected image. PostgreSQL's default
 * replica identity sends updates without a before image and deletes whose before image holds only
 * the key and whose key may name no tenant: this operator supplies the owner and the before image
 * from state. A change that names no tenant for a row the job has not seen yet waits in {@code
 * pending} (the delete can overtake the insert when it lands on another Kafka partition); the row's
 * next attributed change releases it, and after {@code orphanTimeout} or at the end of input it is
 * quarantined as {@code UNATTRIBUTABLE_CHANGE}. A change that claims a tenant other than the row's
 * owner is quarantined as {@code ROW_TENANT_MISMATCH}. Mutable state expires {@code retention}
 * after the row's last change (the spec's per-table setting); append-only marks are kept for as
 * long as the tenant exists.
 *
 * <p>Tenant policies arrive on the broadcast input ({@link Policies}). A change of a paused
 * tenant's row (a key-only delete names no tenant, so decoding cannot tell) leaves as a {@code
 * PAUSED} marker and changes nothing. When a tenant is offboarded, every scope it owns is cleared
 * at once (all keys of this operator's state are visited), an {@code OFFBOARDED} marker tells the
 * tenant's window operator to clear its state too, and changes of the tenant still in flight from
 * before the decision are dropped and counted.
 *
 * <p>Output: applied changes with their tenant set and raw bytes dropped, and markers, ready to be
 * keyed by tenant.
 */
public final class ScopeDeduplicator
    extends KeyedBroadcastProcessFunction<String, ChangeEvent, PolicyDocument, ChangeEvent> {
  private static final long serialVersionUID = 1L;

  /**
   * State name of the scope's replayed quarantine origins (digests), see {@link #applyReplayed}.
   */
  public static final String REPLAYED_STATE = "replayed-origins";

  /** How long a scope remembers a replayed origin: replaying the same record again is a no-op. */
  static final Duration REPLAYED_TTL = Duration.ofDays(30);

  /** Tie digests an append-only scope keeps inline before it moves them to its map state. */
  static final int MAX_INLINE_TIES = 64;

  /** A row has at most this many unattributed changes waiting; more are quarantined at once. */
  static final int MAX_PENDING = 16;

  private final ExportSpec spec;
  private final String jobVersion;
  private final long orphanTimeoutMs;
  private final FolderPolicies folderPolicies;
  private final String policyFolder;

  private transient Map<String, ValueStateDescriptor<ScopeState>> descriptors;
  private transient Map<String, ValueState<ScopeState>> stateByTable;
  private transient Map<String, MapState<Long, Boolean>> appendOnlyTies;
  private transient Counter duplicates;
  private transient Counter unattributable;
  private transient Counter rowTenantMismatch;
  private transient Counter beforeImageFromState;
  private transient Counter offboardedDropped;
  private transient Counter replayedApplied;
  private transient MapState<Long, Boolean> replayed;
  private transient AttemptStart attempt;
  private transient PolicyBook book;
  private transient boolean restoredOffered;

  /**
   * @param folderPolicies the policy folder's documents by tenant, as {@link DecodeFunction} gets
   *     them: only the tenants' statuses matter here
   */
  public ScopeDeduplicator(
      ExportSpec spec,
      String jobVersion,
      long orphanTimeoutMs,
      Map<String, String> folderPolicies,
      String policyFolder) {
    this.spec = spec;
    this.jobVersion = jobVersion;
    this.orphanTimeoutMs = orphanTimeoutMs;
    this.folderPolicies = new FolderPolicies(folderPolicies);
    this.policyFolder = policyFolder;
  }

  /**
   * State name of a table's scopes; part of the savepoint layout, so never derived from anything
   * else.
   */
  public static String stateName(String table) {
    return "scope-" + table;
  }

  /** State name of an append-only table's tie digests (see {@link #advance}). */
  public static String tiesStateName(String table) {
    return "ties-" + table;
  }

  /**
   * The descriptor of {@code table}'s scope state, as this operator registers it (mutable rows
   * expire {@code retention} after their last change); public for savepoint tooling and tests.
   */
  public static ValueStateDescriptor<ScopeState> scopeStateDescriptor(TableSpec table) {
    ValueStateDescriptor<ScopeState> d =
        new ValueStateDescriptor<>(stateName(table.name()), new AvroTypeInfo<>(ScopeState.class));
    if (table.isMutable()) {
      d.enableTimeToLive(
          StateTtlConfig.newBuilder(table.retention())
              .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
              .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
              .build());
    }
    return d;
  }

  /**
   * The descriptor of an append-only table's tie digests, as this operator registers it; public for
   * savepoint tooling and tests.
   */
  public static MapStateDescriptor<Long, Boolean> tiesDescriptor(String table) {
    return new MapStateDescriptor<>(tiesStateName(table), Types.LONG, Types.BOOLEAN);
  }

  /**
   * The descriptor of the scope's replayed quarantine origins, as this operator registers it;
   * public for savepoint tooling and tests.
   */
  public static MapStateDescriptor<Long, Boolean> replayedDescriptor() {
    MapStateDescriptor<Long, Boolean> d =
        new MapStateDescriptor<>(REPLAYED_STATE, Types.LONG, Types.BOOLEAN);
    d.enableTimeToLive(
        StateTtlConfig.newBuilder(REPLAYED_TTL)
            .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
            .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
            .build());
    return d;
  }

  @Override
  public void open(OpenContext ctx) {
    descriptors = new HashMap<>();
    stateByTable = new HashMap<>();
    appendOnlyTies = new HashMap<>();
    for (TableSpec t : spec.tables().values()) {
      ValueStateDescriptor<ScopeState> d = scopeStateDescriptor(t);
      descriptors.put(t.name(), d);
      stateByTable.put(t.name(), getRuntimeContext().getState(d));
      if (!t.isMutable()) {
        appendOnlyTies.put(t.name(), getRuntimeContext().getMapState(tiesDescriptor(t.name())));
      }
    }
    duplicates = getRuntimeContext().getMetricGroup().counter("duplicates");
    unattributable = getRuntimeContext().getMetricGroup().counter("unattributable");
    rowTenantMismatch = getRuntimeContext().getMetricGroup().counter("rowTenantMismatch");
    beforeImageFromState = getRuntimeContext().getMetricGroup().counter("beforeImageFromState");
    offboardedDropped = getRuntimeContext().getMetricGroup().counter("offboardedDropped");
    replayedApplied = getRuntimeContext().getMetricGroup().counter("replayedBelowMark");
    replayed = getRuntimeContext().getMapState(replayedDescriptor());
    attempt = new AttemptStart();
    book = Policies.seeded(spec, folderPolicies.documents(), policyFolder);
    restoredOffered = false;
  }

  @Override
  public void processElement(ChangeEvent e, ReadOnlyContext ctx, Collector<ChangeEvent> out)
      throws Exception {
    attempt.observe(ctx.timerService().currentProcessingTime());
    offerRestored(ctx.getBroadcastState(Policies.STATE));
    if (isOffboarded(e.getTenantId())) {
      offboardedDropped.inc(); // decoded before the decoding instance learnt of the offboarding
      return;
    }
    if (e.getDisposition() != Disposition.APPLY) {
      out.collect(e); // a marker from decoding, on its way to the tenant's receipt
      return;
    }
    TableSpec table = spec.table(e.getSourceTable());
    ValueState<ScopeState> state = stateByTable.get(table.name());
    ScopeState s = state.value();
    if (s == null) {
      s =
          ScopeState.newBuilder()
              .setPosition(new ArrayList<>())
              .setTieDigests(new ArrayList<>())
              .setPending(new ArrayList<>())
              .setPendingParkedAt(new ArrayList<>())
              .setTiesInMap(false)
              .build();
    }
    boolean changed = handle(table, s, e, ctx, out);
    if (changed) {
      state.update(s);
    }
  }

  /** Applies one change to the scope; returns whether the state changed. */
  private boolean handle(
      TableSpec table, ScopeState s, ChangeEvent e, ReadOnlyContext ctx, Collector<ChangeEvent> out)
      throws Exception {
    // Isolation first: a change claiming another tenant's row is refused whatever its position
    // says.
    if (table.isMutable()
        && e.getTenantId() != null
        && s.getTenantId() != null
        && !e.getTenantId().equals(s.getTenantId())) {
      rowTenantMismatch.inc();
      QuarantineRecord q =
          Quarantines.fromChange(
              e,
              QuarantineReason.ROW_TENANT_MISMATCH,
              "change of "
                  + table.name()
                  + " row "
                  + e.getRowKey()
                  + " claims tenant "
                  + e.getTenantId()
                  + " but the row belongs to another tenant (from "
                  + origin(e)
                  + ")",
              e.getTenantId(),
              spec.version(),
              jobVersion);
      ctx.output(Tags.QUARANTINE, q);
      out.collect(Quarantines.marker(e.getTenantId(), table.name(), e.getEventTime(), q));
      return false;
    }
    String owner = e.getTenantId() != null ? e.getTenantId() : s.getTenantId();
    TenantPolicy ownerPolicy = book.get(owner);
    if (ownerPolicy != null && ownerPolicy.status() == TenantStatus.PAUSED) {
      // A key-only delete names no tenant, so decoding could not see that its row's owner is
      // paused: nothing of a paused tenant is exported or applied.
      out.collect(
          Quarantines.pausedMarker(owner, table.name(), e.getSourceTs(), e, ownerPolicy.version()));
      return false;
    }
    if (ownerPolicy != null
        && ownerPolicy.status() == TenantStatus.ACTIVE
        && !ownerPolicy.allowsTable(table.name())) {
      // Same reason as above: decoding could not check the table for a change naming no tenant.
      QuarantineRecord q =
          Quarantines.fromChange(
              e,
              QuarantineReason.TABLE_NOT_ALLOWED,
              "table "
                  + table.name()
                  + " (change at "
                  + origin(e)
                  + ") is not allowed by tenant "
                  + owner
                  + "'s policy version "
                  + ownerPolicy.version(),
              owner,
              spec.version(),
              jobVersion);
      ctx.output(Tags.QUARANTINE, q);
      out.collect(Quarantines.marker(owner, table.name(), e.getSourceTs(), q));
      return false;
    }
    if (e.getReplayOf() != null) {
      // Remembered whichever way it is applied: a first replay onto a row the job never saw goes
      // the normal way, and a second replay of its earlier changes would then lie below the mark.
      long digest = CdcDecoder.digest64(Ids.of("replay-of", e.getReplayOf()));
      if (replayed.contains(digest)) {
        duplicates.inc();
        if (owner != null) {
          out.collect(duplicateMarker(e, owner));
        }
        return false;
      }
      replayed.put(digest, Boolean.TRUE);
      if (!s.getPosition().isEmpty() && Positions.compare(e.getPosition(), s.getPosition()) < 0) {
        return applyReplayed(table, s, e, out);
      }
    }
    if (isReplay(table, s, e)) {
      duplicates.inc();
      String tenant = e.getTenantId() != null ? e.getTenantId() : s.getTenantId();
      if (tenant != null) {
        out.collect(duplicateMarker(e, tenant));
      }
      return false;
    }
    if (!table.isMutable()) {
      advance(table, s, e);
      out.collect(stripped(e, e.getTenantId()));
      return true;
    }
    if (e.getTenantId() == null && s.getTenantId() == null) {
      park(s, e, ctx);
      return true;
    }
    applyMutable(table, s, e, out);
    releasePending(table, s, ctx, out);
    return true;
  }

  /**
   * A change re-injected from the quarantine that lies below the scope's high-water mark. It was
   * quarantined, so never applied, and later changes have moved the mark past it: the mark alone
   * would call it a duplicate. An append-only change is applied out of order (adding a row is
   * order-free); a mutable row's change is older than the row's state, so it goes to the lake only
   * (applying it to the rollups could count the row twice). Neither moves the mark or the stored
   * image. The caller has remembered the replayed origin ({@link #REPLAYED_TTL}), so a second
   * replay of the same record is a duplicate.
   */
  private boolean applyReplayed(
      TableSpec table, ScopeState s, ChangeEvent e, Collector<ChangeEvent> out) throws Exception {
    String tenant = e.getTenantId() != null ? e.getTenantId() : s.getTenantId();
    replayedApplied.inc();
    if (table.isMutable()) {
      e.setLakeOnly(true);
    }
    out.collect(stripped(e, tenant));
    return false;
  }

  private boolean isReplay(TableSpec table, ScopeState s, ChangeEvent e) throws Exception {
    if (s.getPosition().isEmpty()) {
      return isPending(s, e);
    }
    int c = Positions.compare(e.getPosition(), s.getPosition());
    if (c < 0) {
      return true;
    }
    if (c == 0) {
      long digest = CdcDecoder.digest64(e.getEventId());
      if (tiesInMap(table, s)
          ? appendOnlyTies.get(table.name()).contains(digest)
          : s.getTieDigests().contains(digest)) {
        return true;
      }
    }
    return isPending(s, e);
  }

  private static boolean isPending(ScopeState s, ChangeEvent e) {
    for (ChangeEvent p : s.getPending()) {
      if (p.getEventId().equals(e.getEventId())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Moves the mark to the change and adds it to the tie set of the mark's position. Ties are a
   * handful at most for a row (mutable table) and for a streamed append-only table, and live
   * inline; an append-only scope is a whole tenant table whose snapshot rows all share one
   * position, so past {@link #MAX_INLINE_TIES} its ties move to a map state: constant-time lookups,
   * however large the snapshot. The map is cleared only when it was used.
   */
  private void advance(TableSpec table, ScopeState s, ChangeEvent e) throws Exception {
    long digest = CdcDecoder.digest64(e.getEventId());
    boolean ahead =
        s.getPosition().isEmpty() || Positions.compare(e.getPosition(), s.getPosition()) > 0;
    if (ahead) {
      s.setPosition(new ArrayList<>(e.getPosition()));
      if (tiesInMap(table, s)) {
        appendOnlyTies.get(table.name()).clear();
      }
      s.setTiesInMap(false);
      s.setTieDigests(new ArrayList<>(1));
    }
    if (!table.isMutable() && !s.getTiesInMap() && s.getTieDigests().size() >= MAX_INLINE_TIES) {
      MapState<Long, Boolean> ties = appendOnlyTies.get(table.name());
      for (long inline : s.getTieDigests()) {
        ties.put(inline, Boolean.TRUE);
      }
      s.setTieDigests(new ArrayList<>(0));
      s.setTiesInMap(true);
    }
    if (tiesInMap(table, s)) {
      appendOnlyTies.get(table.name()).put(digest, Boolean.TRUE);
    } else {
      s.getTieDigests().add(digest);
    }
  }

  /** Whether the scope's tie set is in the map state (only ever for an append-only table). */
  private static boolean tiesInMap(TableSpec table, ScopeState s) {
    return !table.isMutable() && s.getTiesInMap();
  }

  private void applyMutable(
      TableSpec table, ScopeState s, ChangeEvent e, Collector<ChangeEvent> out) throws Exception {
    String tenant = e.getTenantId() != null ? e.getTenantId() : s.getTenantId();
    if (s.getImage() != null && !s.getDeleted()) {
      // Retract exactly what was added for this row: its stored image. The envelope's before image
      // may be missing, key-only (default replica identity), or key-only yet look complete when the
      // tenant column is part of the key; for c and r this is a re-snapshot of a row already held.
      if (!WindowAggregation.isComplete(table, spec.tenantColumn(), e.getBefore())) {
        beforeImageFromState.inc();
      }
      e.setBefore(new HashMap<>(s.getImage()));
      if (e.getOp().equals("d")) {
        // A delete exports the stored image: it carries the version of the policy that redacted it.
        e.setPolicyVersion(s.getImagePolicyVersion());
      }
    }
    // Otherwise the envelope's image stays: complete (replica identity full, MySQL) it is
    // retracted;
    // partial, the lake keeps the key and the aggregator counts the change as unretracted.
    advance(table, s, e);
    s.setTenantId(tenant);
    if (e.getOp().equals("d")) {
      s.setImage(null);
      s.setDeleted(true);
    } else {
      s.setImage(e.getAfter() == null ? null : new HashMap<>(e.getAfter()));
      s.setImagePolicyVersion(e.getPolicyVersion());
      s.setDeleted(false);
    }
    out.collect(stripped(e, tenant));
  }

  private void park(ScopeState s, ChangeEvent e, ReadOnlyContext ctx) {
    if (s.getPending().size() >= MAX_PENDING) {
      quarantineUnattributable(
          e, ctx, "more than " + MAX_PENDING + " changes of this row wait for a tenant");
      return;
    }
    long now = ctx.timerService().currentProcessingTime();
    s.getPending()
        .add(ChangeEvent.newBuilder(e).build()); // a copy: the input object is not ours to keep
    s.getPendingParkedAt().add(now);
    ctx.timerService().registerProcessingTimeTimer(now + orphanTimeoutMs);
    // The end of a bounded input (or a drain) must not leave anything parked unreported.
    ctx.timerService().registerEventTimeTimer(Long.MAX_VALUE);
  }

  private void releasePending(
      TableSpec table, ScopeState s, ReadOnlyContext ctx, Collector<ChangeEvent> out)
      throws Exception {
    if (s.getPending().isEmpty()) {
      return;
    }
    List<ChangeEvent> pending = new ArrayList<>(s.getPending());
    s.getPending().clear();
    s.getPendingParkedAt().clear();
    pending.sort(Comparator.comparing(ChangeEvent::getPosition, Positions::compare));
    for (ChangeEvent p : pending) {
      if (isReplay(table, s, p)) {
        duplicates.inc();
        out.collect(duplicateMarker(p, s.getTenantId()));
      } else {
        applyMutable(table, s, p, out);
      }
    }
  }

  @Override
  public void processBroadcastElement(PolicyDocument doc, Context ctx, Collector<ChangeEvent> out)
      throws Exception {
    BroadcastState<String, PolicyDocument> policies = ctx.getBroadcastState(Policies.STATE);
    offerRestored(policies);
    PolicyBook.Outcome outcome = book.offer(doc.getTenantId(), doc.getText(), doc.getOrigin());
    if (!(outcome instanceof PolicyBook.Outcome.Applied a)) {
      return; // the decoding operator reports rejections
    }
    String tenant = a.policy().tenant().value();
    policies.put(tenant, doc);
    if (a.policy().status() != TenantStatus.OFFBOARDED) {
      return;
    }
    for (TableSpec t : spec.tables().values()) {
      MapState<Long, Boolean> ties = appendOnlyTies.get(t.name());
      // The backend makes each visited key the current one, so the ties of that key are reached.
      // Append-only scopes are keyed "tenant|table…"; mutable rows record their owner.
      String prefix = tenant + "|";
      ctx.applyToKeyedState(
          descriptors.get(t.name()),
          (key, state) -> {
            ScopeState s = state.value();
            if (s != null
                && (t.isMutable() ? tenant.equals(s.getTenantId()) : key.startsWith(prefix))) {
              state.clear();
              if (ties != null) {
                ties.clear();
              }
              replayed.clear();
            }
          });
    }
    out.collect(Quarantines.offboardedMarker(tenant, a.policy().version()));
  }

  private boolean isOffboarded(String tenant) {
    TenantPolicy p = book.get(tenant);
    return p != null && p.status() == TenantStatus.OFFBOARDED;
  }

  private void offerRestored(ReadOnlyBroadcastState<String, PolicyDocument> state)
      throws Exception {
    if (!restoredOffered) {
      restoredOffered = true;
      Policies.offerRestored(book, state);
    }
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<ChangeEvent> out)
      throws Exception {
    attempt.observe(ctx.timerService().currentProcessingTime());
    boolean endOfInput = ctx.timeDomain() == TimeDomain.EVENT_TIME;
    String key = ctx.getCurrentKey();
    TableSpec table = spec.table(key.substring(0, key.indexOf('|')));
    ValueState<ScopeState> state = stateByTable.get(table.name());
    ScopeState s = state.value();
    if (s == null || s.getPending().isEmpty()) {
      return;
    }
    List<ChangeEvent> keep = new ArrayList<>();
    List<Long> keepParkedAt = new ArrayList<>();
    for (int i = 0; i < s.getPending().size(); i++) {
      ChangeEvent p = s.getPending().get(i);
      long parkedAt = s.getPendingParkedAt().get(i);
      if (endOfInput) {
        quarantineUnattributable(p, ctx, "input ended before anything named the row's tenant");
      } else if (attempt.since(parkedAt) + orphanTimeoutMs <= timestamp) {
        quarantineUnattributable(
            p, ctx, "nothing named the row's tenant within " + orphanTimeoutMs + " ms");
      } else {
        // After a restore, restored timers fire at once while the backlog that may still name the
        // row's tenant is replayed: a parked change gets a full timeout in this attempt.
        keep.add(p);
        keepParkedAt.add(parkedAt);
        ctx.timerService().registerProcessingTimeTimer(attempt.since(parkedAt) + orphanTimeoutMs);
      }
    }
    s.setPending(keep);
    s.setPendingParkedAt(keepParkedAt);
    state.update(s);
  }

  private void quarantineUnattributable(ChangeEvent e, ReadOnlyContext ctx, String why) {
    unattributable.inc();
    ctx.output(
        Tags.QUARANTINE,
        Quarantines.fromChange(
            e,
            QuarantineReason.UNATTRIBUTABLE_CHANGE,
            e.getSourceTable()
                + " change of row "
                + e.getRowKey()
                + " names no tenant and the job knows no owner"
                + " of the row: "
                + why
                + " (from "
                + origin(e)
                + ")",
            null,
            spec.version(),
            jobVersion));
  }

  private static String origin(ChangeEvent e) {
    return e.getOriginTopic() + "/" + e.getOriginPartition() + "@" + e.getOriginOffset();
  }

  private static ChangeEvent stripped(ChangeEvent e, String tenant) {
    e.setTenantId(tenant);
    e.setRawKey(null);
    e.setRawValue(null);
    return e;
  }

  private static ChangeEvent duplicateMarker(ChangeEvent e, String tenant) {
    return ChangeEvent.newBuilder(e)
        .setTenantId(tenant)
        .setDisposition(Disposition.DUPLICATE)
        .setBefore(null)
        .setAfter(null)
        .setRawKey(null)
        .setRawValue(null)
        .build();
  }
}
