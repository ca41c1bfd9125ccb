package io.tenantexport.jobs.operators;

import io.tenantexport.common.Ids;
import io.tenantexport.common.agg.WindowAggregation;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.AuditType;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.Disposition;
import io.tenantexport.schemas.LakeRecord;
import io.tenantexport.schemas.TenantClock;
import io.tenantexport.schemas.TenantWindow;
import io.tenantexport.schemas.WarehouseRollup;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
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
 * Per-tenant event-time clock and tumbling-window aggregation, keyed by tenant id.
 *
 * <p>Each tenant has its own clock ({@link TenantClock}): the highest event time of its applied
 * changes. A window closes when its end plus the spec's allowed lateness is at or before that
 * clock, so a silent tenant never holds another back and a busy tenant never makes another's data
 * late. A processing-time idle timeout flushes the open windows of a tenant that has gone quiet, as
 * far as the input's watermark allows (checking again every timeout until none is left; all of them
 * when no watermark has arrived at all); the end of a bounded input (or a drain) flushes
 * everything.
 *
 * <p>A window also waits for the input to pass its end plus the lateness: the operator's watermark,
 * the lowest Kafka timestamp (commit time) that every partition has been read to (a partition quiet
 * for {@code kafka.idle_partition_timeout} stops holding it back, see {@code InputProgress}; before
 * the first watermark of a run or a restore, only the idle flush closes anything). A held window is
 * closed by an event-time timer at the watermark that releases it. Without that wait, reading a
 * backlog (a catch-up after downtime, a backfill, the benchmark's preloaded topics) made a tenant's
 * clock race ahead with whichever partition was read first, and 83 % of a preloaded input's changes
 * arrived for windows already closed.
 *
 * <p>A change is late when its window is closed, or when it was committed ({@code source_ts}) at or
 * after its window's end plus the lateness. The second rule decides what the first would decide in
 * live reading, but from the change alone: which changes are late does not depend on the order in
 * which partitions are read, nor on how far the watermark had come when the change arrived.
 *
 * <p>Every applied change goes to the lake (main output). A change for an open window is folded
 * into it ({@link WindowAggregation}); a change for a closed window is late: it still reaches the
 * lake (flagged), is counted, and gets its own {@code LATE_EVENT} audit event, but it never changes
 * a closed window. {@code DUPLICATE}, {@code QUARANTINED} and {@code PAUSED} markers only count in
 * the open window of their event time. An {@code OFFBOARDED} marker clears the tenant's clock and
 * open windows without emitting them: an offboarded tenant's pending aggregates are discarded.
 *
 * <p>Every output carries the policy version behind it: a lake row its change's, a rollup and a
 * receipt the highest version among the changes folded into the window.
 *
 * <p>Closing a window emits its rollups ({@link Tags#ROLLUPS}) and a receipt ({@link Tags#AUDIT})
 * and removes it from state: state holds open windows only, plus one small clock per tenant (with
 * the starts of its open windows, so that closing one needs no scan of the windows).
 *
 * <p>Every change reads and writes its window, whose cells (table × metric × dimensions) make it
 * the largest value this operator touches; the windows of the tenants that changed last are kept
 * deserialized and written to state once per checkpoint ({@link WriteBehindWindows}). That needs
 * the key switching and the pre-barrier hook of {@link TenantWindowOperator}, the only operator
 * that can run this function.
 */
public final class TenantWindowAggregator
    extends KeyedProcessFunction<String, ChangeEvent, LakeRecord> {
  private static final long serialVersionUID = 1L;

  private final ExportSpec spec;
  private final String jobVersion;
  private final long idleTimeoutMs;
  private final int cachedWindows;

  private transient WindowAggregation aggregation;
  private transient ValueState<TenantClock> clockState;
  private transient WriteBehindWindows windows;
  private transient Counter applied;
  private transient Counter late;
  private transient Counter unretracted;
  private transient Counter windowsClosed;
  private transient Counter offboarded;
  private transient Counter heldByInput;
  private transient AttemptStart attempt;
  private transient Consumer<String> setCurrentKey;

  /**
   * @param cachedWindows open windows kept deserialized per subtask ({@code job.cached_windows};
   *     tests evict with 1)
   */
  public TenantWindowAggregator(
      ExportSpec spec, String jobVersion, long idleTimeoutMs, int cachedWindows) {
    if (cachedWindows < 1) {
      throw new IllegalArgumentException("cachedWindows must be at least 1, got " + cachedWindows);
    }
    this.spec = spec;
    this.jobVersion = jobVersion;
    this.idleTimeoutMs = idleTimeoutMs;
    this.cachedWindows = cachedWindows;
  }

  /** Open windows kept deserialized per subtask, as configured. */
  int cachedWindows() {
    return cachedWindows;
  }

  /** State name of the tenant's clock; part of the savepoint layout. */
  public static final String CLOCK_STATE = "tenant-clock";

  /** State name of the tenant's open windows, by window start; part of the savepoint layout. */
  public static final String WINDOWS_STATE = "open-windows";

  /** The descriptor of the tenant's clock; public for savepoint tooling and tests. */
  public static ValueStateDescriptor<TenantClock> clockDescriptor() {
    return new ValueStateDescriptor<>(CLOCK_STATE, new AvroTypeInfo<>(TenantClock.class));
  }

  /** The descriptor of the tenant's open windows; public for savepoint tooling and tests. */
  public static MapStateDescriptor<Long, TenantWindow> windowsDescriptor() {
    return new MapStateDescriptor<>(
        WINDOWS_STATE, Types.LONG, new AvroTypeInfo<>(TenantWindow.class));
  }

  @Override
  public void open(OpenContext ctx) {
    aggregation = new WindowAggregation(spec);
    clockState = getRuntimeContext().getState(clockDescriptor());
    if (setCurrentKey == null) {
      throw new IllegalStateException(
          "TenantWindowAggregator keeps windows in memory between checkpoints and must run in a"
              + " TenantWindowOperator, which writes them to state before each barrier; it was"
              + " opened without one");
    }
    MapState<Long, TenantWindow> windowsState =
        getRuntimeContext().getMapState(windowsDescriptor());
    windows = new WriteBehindWindows(cachedWindows, windowsState, setCurrentKey);
    getRuntimeContext().getMetricGroup().gauge("windowsCached", windows::size);
    getRuntimeContext().getMetricGroup().gauge("windowTenantsEvicted", windows::evictedTenants);
    applied = getRuntimeContext().getMetricGroup().counter("applied");
    late = getRuntimeContext().getMetricGroup().counter("late");
    unretracted = getRuntimeContext().getMetricGroup().counter("unretracted");
    windowsClosed = getRuntimeContext().getMetricGroup().counter("windowsClosed");
    offboarded = getRuntimeContext().getMetricGroup().counter("tenantsOffboarded");
    heldByInput = getRuntimeContext().getMetricGroup().counter("windowClosesHeldByInput");
    attempt = new AttemptStart();
  }

  @Override
  public void processElement(ChangeEvent e, Context ctx, Collector<LakeRecord> out)
      throws Exception {
    String tenant = ctx.getCurrentKey();
    if (e.getDisposition() == Disposition.OFFBOARDED) {
      // Timers stay registered; they find no clock and do nothing.
      windows.clear(tenant);
      clockState.clear();
      offboarded.inc();
      return;
    }
    TenantClock clock = clockState.value();
    long now = ctx.timerService().currentProcessingTime();
    attempt.observe(now);
    if (clock == null) {
      clock =
          TenantClock.newBuilder()
              .setMaxEventTime(Long.MIN_VALUE)
              .setClosedUntil(Long.MIN_VALUE)
              .setOpenWindows(new ArrayList<>())
              .build();
    }
    if (!clock.getEndTimer()) {
      // Fires only at the end of a bounded input or on a drain: flush whatever is still open. A
      // drain
      // consumes it, so a job resumed from that savepoint registers it again.
      ctx.timerService().registerEventTimeTimer(Long.MAX_VALUE);
      clock.setEndTimer(true);
    }
    clock.setLastActivity(now);
    if (clock.getIdleTimer() == 0) {
      clock.setIdleTimer(now + idleTimeoutMs);
      ctx.timerService().registerProcessingTimeTimer(clock.getIdleTimer());
    }

    long windowStart = spec.windowStart(e.getEventTime());
    long windowEnd = windowStart + spec.window().toMillis();
    // Late: its window closed, or it was committed after the window's end plus lateness (decided
    // from the change alone, whatever the reading order). A lake-only change (a replay older than
    // its row's state) is handled as late too: lake, no rollup.
    boolean closed =
        windowEnd <= clock.getClosedUntil()
            || e.getSourceTs() - spec.allowedLateness().toMillis() >= windowEnd
            || e.getLakeOnly();
    if (e.getDisposition() == Disposition.APPLY) {
      applied.inc();
      if (closed) {
        late.inc();
        clock.setLateSinceReceipt(clock.getLateSinceReceipt() + 1);
        ctx.output(Tags.AUDIT, lateEvent(tenant, e, now));
      } else {
        TenantWindow w = windows.forUpdate(tenant, windowStart);
        opened(tenant, clock, windowStart);
        if (!aggregation.apply(w, e)) {
          unretracted.inc();
        }
        w.setEventsIn(w.getEventsIn() + 1);
        w.setRevision(w.getRevision() + 1);
        w.setPolicyVersion(Math.max(w.getPolicyVersion(), e.getPolicyVersion()));
      }
      out.collect(lakeRecord(tenant, e, closed));
      if (e.getEventTime() > clock.getMaxEventTime()) {
        boolean wasHeld = closableByClock(clock) > clock.getClosedUntil();
        clock.setMaxEventTime(e.getEventTime());
        closeClosable(tenant, clock, wasHeld, now, ctx);
      }
    } else if (!closed) {
      // Markers only ever count in a window that is still open; for closed ones the metrics count
      // them.
      TenantWindow w = windows.forUpdate(tenant, windowStart);
      opened(tenant, clock, windowStart);
      if (e.getDisposition() == Disposition.DUPLICATE) {
        w.setDuplicatesSkipped(w.getDuplicatesSkipped() + 1);
      } else if (e.getDisposition() == Disposition.PAUSED) {
        w.setPausedSkipped(w.getPausedSkipped() + 1);
      } else {
        w.setQuarantined(w.getQuarantined() + 1);
      }
    }
    clockState.update(clock);
  }

  /** Called by {@link TenantWindowOperator} before {@code open}: how to switch the current key. */
  void runBy(Consumer<String> setCurrentKey) {
    this.setCurrentKey = setCurrentKey;
  }

  /** Writes every window changed since it was last written; before a checkpoint barrier. */
  void writeCachedWindows() throws Exception {
    windows.writeAll();
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<LakeRecord> out)
      throws Exception {
    TenantClock clock = clockState.value();
    if (clock == null) {
      return;
    }
    String tenant = ctx.getCurrentKey();
    long now = ctx.timerService().currentProcessingTime();
    attempt.observe(now);
    if (ctx.timeDomain() == TimeDomain.EVENT_TIME && timestamp == Long.MAX_VALUE) {
      flushUpTo(tenant, clock, Long.MAX_VALUE, now, ctx);
      clock.setEndTimer(false);
    } else if (ctx.timeDomain() == TimeDomain.EVENT_TIME
        && attempt.since(clock.getLastActivity()) + idleTimeoutMs <= now) {
      // The input has moved on while the tenant is quiet: its idle flush continues.
      flushQuiet(tenant, clock, now, ctx);
    } else if (ctx.timeDomain() == TimeDomain.EVENT_TIME) {
      // The input has passed the end (plus lateness) of a window this tenant's clock had closed.
      // Not "held before": if the clock still waits (the watermark has not passed what the
      // clock allows), a timer for the next window is registered again.
      closeClosable(tenant, clock, false, now, ctx);
    } else if (timestamp == clock.getIdleTimer()) {
      // After a restore, restored timers fire at once while the backlog is still being replayed:
      // the tenant is only idle if it stays quiet for a whole timeout after this attempt started.
      long idleSince = attempt.since(clock.getLastActivity());
      if (idleSince + idleTimeoutMs <= timestamp) {
        clock.setIdleTimer(0L);
        flushQuiet(tenant, clock, now, ctx);
      } else {
        clock.setIdleTimer(idleSince + idleTimeoutMs);
        ctx.timerService().registerProcessingTimeTimer(clock.getIdleTimer());
      }
    }
    clockState.update(clock);
  }

  /**
   * Closes the windows both the tenant's clock and the input's watermark have passed (end plus
   * lateness). When the watermark holds back a window the clock would close, registers an
   * event-time timer at the watermark that lets the next window close; only when that changes
   * ({@code wasHeld}: the clock already waited on the watermark before this call), so a tenant's
   * changes do not each register one.
   */
  private void closeClosable(
      String tenant, TenantClock clock, boolean wasHeld, long now, Context ctx) throws Exception {
    long byClock = closableByClock(clock);
    long until = Math.min(byClock, closableByInput(ctx.timerService().currentWatermark()));
    boolean closedMore = until > clock.getClosedUntil();
    if (closedMore) {
      closeWindows(tenant, clock, until, now, ctx);
      clock.setClosedUntil(until);
    }
    if (byClock > clock.getClosedUntil() && (closedMore || !wasHeld)) {
      waitForInput(clock, ctx);
    }
  }

  /**
   * Registers the event-time timer at which the input will have passed the next window still open
   * (its end plus lateness), and counts the hold.
   */
  private void waitForInput(TenantClock clock, Context ctx) {
    heldByInput.inc();
    ctx.timerService()
        .registerEventTimeTimer(
            clock.getClosedUntil() + spec.window().toMillis() + spec.allowedLateness().toMillis());
  }

  /** Windows starting before this may close by the tenant's clock (end + lateness passed). */
  private long closableByClock(TenantClock clock) {
    return windowStartBefore(clock.getMaxEventTime());
  }

  /** Windows starting before this may close by the input's progress (the watermark). */
  private long closableByInput(long watermark) {
    return windowStartBefore(watermark);
  }

  /**
   * The start of the window in which {@code time} minus the lateness falls; {@code Long.MIN_VALUE}
   * (nothing closes) for a time so low that the arithmetic would underflow, such as a clock without
   * changes or an operator without a watermark, whatever the lateness.
   */
  private long windowStartBefore(long time) {
    long lateness = spec.allowedLateness().toMillis();
    return time < Long.MIN_VALUE + lateness + spec.window().toMillis()
        ? Long.MIN_VALUE
        : spec.windowStart(time - lateness);
  }

  /**
   * The idle flush: closes a quiet tenant's windows as far as the input has been read (in a backlog
   * its changes may still be on their way in a slower partition), or all of them when no watermark
   * has arrived at all (nothing read since the job started). Windows the input still holds are
   * closed by an event-time timer as soon as the watermark passes them, not a timeout later.
   */
  private void flushQuiet(String tenant, TenantClock clock, long now, Context ctx)
      throws Exception {
    long watermark = ctx.timerService().currentWatermark();
    long limit = watermark == Long.MIN_VALUE ? Long.MAX_VALUE : closableByInput(watermark);
    if (!flushUpTo(tenant, clock, limit, now, ctx)) {
      waitForInput(clock, ctx);
    }
  }

  /**
   * Closes every open window that starts before {@code limit}, whatever the clock: the tenant went
   * quiet, or the input ended ({@code Long.MAX_VALUE}). Returns whether none is left open.
   */
  private boolean flushUpTo(String tenant, TenantClock clock, long limit, long now, Context ctx)
      throws Exception {
    List<Long> starts = openStarts(tenant, clock);
    if (starts.isEmpty()) {
      return true;
    }
    long lastEnd = starts.get(starts.size() - 1) + spec.window().toMillis();
    long until = Math.min(lastEnd, limit);
    if (until > clock.getClosedUntil()) {
      closeWindows(tenant, clock, until, now, ctx);
      clock.setClosedUntil(until);
    }
    return until >= lastEnd;
  }

  /** Emits and removes, in time order, every open window that ends at or before {@code until}. */
  private void closeWindows(String tenant, TenantClock clock, long until, long now, Context ctx)
      throws Exception {
    List<Long> starts = openStarts(tenant, clock);
    while (!starts.isEmpty() && starts.get(0) + spec.window().toMillis() <= until) {
      long start = starts.remove(0);
      TenantWindow w = windows.read(tenant, start);
      if (w == null) {
        throw new IllegalStateException(
            "the clock of tenant "
                + tenant
                + " lists an open window at "
                + Instant.ofEpochMilli(start)
                + " that the windows state does not hold; open windows: "
                + starts);
      }
      List<WarehouseRollup> rows = aggregation.rollups(tenant, w);
      for (WarehouseRollup r : rows) {
        r.setPolicyVersion(w.getPolicyVersion());
        ctx.output(Tags.ROLLUPS, r);
      }
      ctx.output(Tags.AUDIT, receipt(tenant, w, rows, clock.getLateSinceReceipt(), now));
      clock.setLateSinceReceipt(0L);
      windows.remove(tenant, start);
      windowsClosed.inc();
    }
  }

  /**
   * The starts of the tenant's open windows, ascending, as the clock keeps them; for a clock
   * written before it kept them, read once from the windows state (a scan that reads every window
   * whole, which is why the clock keeps them).
   */
  private List<Long> openStarts(String tenant, TenantClock clock) throws Exception {
    if (clock.getOpenWindows() == null) {
      clock.setOpenWindows(new ArrayList<>(windows.starts(tenant)));
    }
    return clock.getOpenWindows();
  }

  /** Notes in the clock that the tenant's window at {@code start} is open. */
  private void opened(String tenant, TenantClock clock, long start) throws Exception {
    List<Long> starts = openStarts(tenant, clock);
    int i = Collections.binarySearch(starts, start);
    if (i < 0) {
      starts.add(-i - 1, start);
    }
  }

  private AuditEvent receipt(
      String tenant, TenantWindow w, List<WarehouseRollup> rows, long lateSince, long now) {
    long start = w.getWindowStart();
    long end = start + spec.window().toMillis();
    return AuditEvent.newBuilder()
        .setEventId(
            Ids.of(
                "audit", "receipt", tenant, Integer.toString(spec.version()), Long.toString(start)))
        .setType(AuditType.WINDOW_RECEIPT)
        .setTenantId(tenant)
        .setExportVersion(spec.version())
        .setJobVersion(jobVersion)
        .setEventTime(Instant.ofEpochMilli(end))
        .setEmittedAt(Instant.ofEpochMilli(now))
        .setWindowStart(Instant.ofEpochMilli(start))
        .setWindowEnd(Instant.ofEpochMilli(end))
        .setEventsIn(w.getEventsIn())
        .setDuplicatesSkipped(w.getDuplicatesSkipped())
        .setQuarantined(w.getQuarantined())
        .setPausedSkipped(w.getPausedSkipped())
        .setPolicyVersion(w.getPolicyVersion())
        .setLateEvents(lateSince)
        .setRollupRows(rows.size())
        .setRollupChecksum(WindowAggregation.checksum(rows))
        .build();
  }

  private AuditEvent lateEvent(String tenant, ChangeEvent e, long now) {
    return AuditEvent.newBuilder()
        .setEventId(Ids.of("audit", "late", e.getEventId()))
        .setType(AuditType.LATE_EVENT)
        .setTenantId(tenant)
        .setExportVersion(spec.version())
        .setJobVersion(jobVersion)
        .setEventTime(Instant.ofEpochMilli(e.getEventTime()))
        .setEmittedAt(Instant.ofEpochMilli(now))
        .setReason(e.getSourceTable() + " change " + e.getEventId())
        .setOrigin(e.getOriginTopic() + "/" + e.getOriginPartition() + "@" + e.getOriginOffset())
        .build();
  }

  private LakeRecord lakeRecord(String tenant, ChangeEvent e, boolean isLate) {
    Map<String, String> image = e.getOp().equals("d") ? e.getBefore() : e.getAfter();
    return LakeRecord.newBuilder()
        .setEventId(e.getEventId())
        .setTenantId(tenant)
        .setSourceTable(e.getSourceTable())
        .setOp(e.getOp())
        .setEventTime(Instant.ofEpochMilli(e.getEventTime()))
        .setSourceTs(Instant.ofEpochMilli(e.getSourceTs()))
        .setSourcePosition(e.getPositionKind() + ":" + positionText(e.getPosition()))
        .setLate(isLate)
        .setExportVersion(spec.version())
        .setPolicyVersion(e.getPolicyVersion())
        .setColumns(image == null ? new HashMap<>() : new HashMap<>(image))
        .build();
  }

  private static String positionText(List<Long> position) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < position.size(); i++) {
      if (i > 0) {
        sb.append('/');
      }
      sb.append(position.get(i));
    }
    return sb.toString();
  }
}
