package io.tenantexport.local.v2;

import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.Disposition;
import io.tenantexport.schemas.WarehouseRollup;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The metric only v2 exports: {@code <table>.changes_applied}, the number of changes applied to a
 * tenant's table per window of event time (the changes that reach the lake, late ones included), as
 * a live figure the warehouse keeps up to date while the window fills. Keyed by tenant.
 *
 * <p>State: per table and window start, the count so far, the highest policy version among its
 * changes and whether the warehouse has the count; the tenant's clock (highest event time seen);
 * and the pending report timer. A report, {@link #REPORT_DELAY} after the first unreported change
 * of the tenant, emits one rollup per window whose count changed. A window is forgotten once the
 * tenant's clock is {@link #RETENTION} past its end; a change for a forgotten window is not counted
 * (metric {@code tooOld}), so a count never restarts from zero.
 *
 * <p>Its state is new in v2: a v1 savepoint restores into v2 with this operator empty (it counts
 * what v2 reads after the restore), and a v2 savepoint does not restore into v1 without
 * allowNonRestoredState, which is why a rollback returns to the pre-upgrade savepoint.
 */
public final class ChangesPerWindow
    extends KeyedProcessFunction<String, ChangeEvent, WarehouseRollup> {
  private static final long serialVersionUID = 1L;

  /** How long after a tenant's first unreported change its counts are reported. */
  static final Duration REPORT_DELAY = Duration.ofSeconds(1);

  /** How long past its end (by the tenant's clock) a window's count is kept. */
  static final Duration RETENTION = Duration.ofDays(1);

  /** The metric's name for {@code table}. */
  public static String metric(String table) {
    return table + ".changes_applied";
  }

  /** One window's count; a POJO, so that its state needs no generic serializer. */
  public static final class WindowCount {
    public long changes;
    public long policyVersion;
    public boolean reported;
  }

  private final ExportSpec spec;
  private final int exportVersion;

  private transient MapState<String, WindowCount> counts;
  private transient ValueState<Long> clock;
  private transient ValueState<Long> reportAt;
  private transient Counter tooOld;

  public ChangesPerWindow(ExportSpec spec) {
    this.spec = spec;
    this.exportVersion = spec.version();
  }

  @Override
  public void open(OpenContext ctx) {
    counts =
        getRuntimeContext()
            .getMapState(
                new MapStateDescriptor<>(
                    "changes-per-window", Types.STRING, Types.POJO(WindowCount.class)));
    clock = getRuntimeContext().getState(new ValueStateDescriptor<>("clock", Types.LONG));
    reportAt = getRuntimeContext().getState(new ValueStateDescriptor<>("report-at", Types.LONG));
    tooOld = getRuntimeContext().getMetricGroup().counter("tooOld");
  }

  @Override
  public void processElement(ChangeEvent e, Context ctx, Collector<WarehouseRollup> out)
      throws Exception {
    if (e.getDisposition() != Disposition.APPLY) {
      return;
    }
    long now = clock.value() == null ? e.getEventTime() : Math.max(clock.value(), e.getEventTime());
    clock.update(now);
    long start = spec.windowStart(e.getEventTime());
    if (expired(start, now)) {
      tooOld.inc();
      return;
    }
    String key = e.getSourceTable() + "|" + start;
    WindowCount count = counts.get(key);
    if (count == null) {
      count = new WindowCount();
    }
    count.changes++;
    count.policyVersion = Math.max(count.policyVersion, e.getPolicyVersion());
    count.reported = false;
    counts.put(key, count);
    if (reportAt.value() == null) {
      long at = ctx.timerService().currentProcessingTime() + REPORT_DELAY.toMillis();
      ctx.timerService().registerProcessingTimeTimer(at);
      reportAt.update(at);
    }
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<WarehouseRollup> out)
      throws Exception {
    reportAt.clear();
    long now = clock.value();
    List<String> forget = new ArrayList<>();
    for (Map.Entry<String, WindowCount> entry : counts.entries()) {
      String key = entry.getKey();
      WindowCount count = entry.getValue();
      int bar = key.lastIndexOf('|');
      String table = key.substring(0, bar);
      long start = Long.parseLong(key.substring(bar + 1));
      if (!count.reported) {
        out.collect(rollup(ctx.getCurrentKey(), table, start, count));
        count.reported = true;
        counts.put(key, count);
      }
      if (expired(start, now)) {
        forget.add(key);
      }
    }
    for (String key : forget) {
      counts.remove(key);
    }
  }

  private boolean expired(long windowStart, long clockNow) {
    return windowStart + spec.window().toMillis() + RETENTION.toMillis() <= clockNow;
  }

  private WarehouseRollup rollup(String tenant, String table, long start, WindowCount count) {
    return WarehouseRollup.newBuilder()
        .setTenantId(tenant)
        .setSourceTable(table)
        .setMetric(metric(table))
        .setDimensions("{}")
        .setWindowStart(Instant.ofEpochMilli(start))
        .setWindowEnd(Instant.ofEpochMilli(start + spec.window().toMillis()))
        .setValue(Long.toString(count.changes))
        .setRowCount(count.changes)
        .setRevision(count.changes)
        .setExportVersion(exportVersion)
        .setPolicyVersion(count.policyVersion)
        .build();
  }
}
