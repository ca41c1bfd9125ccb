package io.tenantexport.jobs.operators;

import io.tenantexport.common.agg.WindowAggregation;
import io.tenantexport.schemas.AggregateCell;
import io.tenantexport.schemas.TenantWindow;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.apache.flink.api.common.state.MapState;

/**
 * The open windows of the tenants that changed last, deserialized and changed in place, written to
 * the keyed windows state only when it must hold them: before a checkpoint barrier ({@link
 * #writeAll}), or when the tenant is evicted to keep at most {@code capacity} windows here.
 *
 * <p>Why: a window holds every aggregate cell (table × metric × dimensions) of one tenant and one
 * interval, and is changed by every change of that tenant. Writing it through to RocksDB re-encoded
 * all its cells per change, which was most of the window operator's time. A window is now encoded
 * once per checkpoint (or eviction), whatever the number of changes in between.
 *
 * <p>Invariants:
 *
 * <ul>
 *   <li>For every (tenant, window start), the newest value is here if present, else in the state;
 *       every read, change and removal of the windows state goes through this class, the only
 *       writer.
 *   <li>After {@link #writeAll} the state holds every window here, so a checkpoint taken then is
 *       complete; what is lost on failure is only what a restore replays anyway.
 *   <li>A window here is never an object the state holds: it is copied when read from the state and
 *       when written at a barrier (a heap state backend keeps the object put, and its asynchronous
 *       snapshot must not see later changes). An evicted window is put as is: nothing here refers
 *       to it any more.
 *   <li>The state is only touched under its own tenant's key: the key is switched for an evicted
 *       tenant, then switched back.
 *   <li>Heap: at most {@code capacity} windows, plus the windows of the tenant being changed.
 * </ul>
 */
final class WriteBehindWindows {
  /** A cached window and whether the state is behind it. */
  private static final class Slot {
    final TenantWindow window;
    boolean dirty;

    Slot(TenantWindow window) {
      this.window = window;
    }
  }

  private final int capacity;
  private final MapState<Long, TenantWindow> state;
  private final Consumer<String> setCurrentKey;

  /** Tenants, least recently changed first; per tenant its cached windows by start. */
  private final LinkedHashMap<String, Map<Long, Slot>> tenants =
      new LinkedHashMap<>(16, 0.75f, true);

  private int size;
  private long evictedTenants;

  /**
   * @param state the operator's windows state; the current key selects whose windows it holds
   * @param setCurrentKey switches the operator's current key (to write an evicted tenant's windows)
   */
  WriteBehindWindows(
      int capacity, MapState<Long, TenantWindow> state, Consumer<String> setCurrentKey) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
    }
    this.capacity = capacity;
    this.state = state;
    this.setCurrentKey = setCurrentKey;
  }

  /**
   * The tenant's window at {@code windowStart}, for the caller to change in place: from here, else
   * a copy of the state's, else a new one. {@code tenant} must be the current key.
   */
  TenantWindow forUpdate(String tenant, long windowStart) throws Exception {
    Map<Long, Slot> windows = tenants.get(tenant);
    Slot slot = windows == null ? null : windows.get(windowStart);
    if (slot == null) {
      TenantWindow stored = state.get(windowStart);
      TenantWindow w = stored != null ? copyOf(stored) : WindowAggregation.newWindow(windowStart);
      if (windows == null) {
        windows = new HashMap<>(4);
        tenants.put(tenant, windows);
      }
      slot = new Slot(w);
      windows.put(windowStart, slot);
      size++;
      evictBeyondCapacity(tenant);
    }
    slot.dirty = true;
    return slot.window;
  }

  /** The newest value of the tenant's window, or null; the caller must not change it. */
  TenantWindow read(String tenant, long windowStart) throws Exception {
    Map<Long, Slot> windows = tenants.get(tenant);
    Slot slot = windows == null ? null : windows.get(windowStart);
    return slot != null ? slot.window : state.get(windowStart);
  }

  /**
   * The starts of the tenant's open windows, ascending. {@code tenant} must be the current key. A
   * scan that reads every window of the tenant whole (a map state's iterator loads the values too):
   * the tenant's clock keeps the starts, and this is only for a clock written before it did.
   */
  TreeSet<Long> starts(String tenant) throws Exception {
    TreeSet<Long> starts = new TreeSet<>();
    for (Long start : state.keys()) {
      starts.add(start);
    }
    Map<Long, Slot> windows = tenants.get(tenant);
    if (windows != null) {
      starts.addAll(windows.keySet());
    }
    return starts;
  }

  /** Removes the tenant's window here and in the state. {@code tenant} must be the current key. */
  void remove(String tenant, long windowStart) throws Exception {
    Map<Long, Slot> windows = tenants.get(tenant);
    if (windows != null && windows.remove(windowStart) != null) {
      size--;
      if (windows.isEmpty()) {
        tenants.remove(tenant);
      }
    }
    state.remove(windowStart);
  }

  /** Removes all of the tenant's windows here and in the state. {@code tenant} must be current. */
  void clear(String tenant) throws Exception {
    Map<Long, Slot> windows = tenants.remove(tenant);
    if (windows != null) {
      size -= windows.size();
    }
    state.clear();
  }

  /**
   * Writes every window the state is behind on (a copy: they stay here and change further), under
   * its tenant's key. Leaves the current key at the last tenant written: call it where the caller
   * sets the key before touching state again (before a checkpoint barrier).
   */
  void writeAll() throws Exception {
    for (Map.Entry<String, Map<Long, Slot>> t : tenants.entrySet()) {
      writeDirty(t.getKey(), t.getValue(), true);
    }
  }

  /**
   * Puts the tenant's windows the state is behind on (copies if they stay here), switching to the
   * tenant's key first if there is any; returns whether it switched.
   */
  private boolean writeDirty(String tenant, Map<Long, Slot> windows, boolean copy)
      throws Exception {
    boolean switched = false;
    for (Map.Entry<Long, Slot> w : windows.entrySet()) {
      Slot slot = w.getValue();
      if (slot.dirty) {
        if (!switched) {
          setCurrentKey.accept(tenant);
          switched = true;
        }
        state.put(w.getKey(), copy ? copyOf(slot.window) : slot.window);
        slot.dirty = false;
      }
    }
    return switched;
  }

  /** Evicts least recently changed tenants but {@code current} until within capacity. */
  private void evictBeyondCapacity(String current) throws Exception {
    if (size <= capacity) {
      return;
    }
    boolean switched = false;
    Iterator<Map.Entry<String, Map<Long, Slot>>> it = tenants.entrySet().iterator();
    while (size > capacity && it.hasNext()) {
      Map.Entry<String, Map<Long, Slot>> t = it.next();
      if (t.getKey().equals(current)) {
        continue;
      }
      switched |= writeDirty(t.getKey(), t.getValue(), false);
      size -= t.getValue().size();
      evictedTenants++;
      it.remove();
    }
    if (switched) {
      setCurrentKey.accept(current);
    }
  }

  int size() {
    return size;
  }

  long evictedTenants() {
    return evictedTenants;
  }

  /** Whether {@link #copyOf} knows every field of the window and cell schemas. */
  static final boolean COPY_KNOWS_EVERY_FIELD =
      TenantWindow.SCHEMA$.getFields().size() == 8 && AggregateCell.SCHEMA$.getFields().size() == 7;

  /**
   * A deep copy of {@code w}. Field by field, because Avro's generic deep copy (a builder) cost as
   * much as decoding the window; should the schemas gain a field, the generic copy takes over (and
   * a test says so).
   */
  static TenantWindow copyOf(TenantWindow w) {
    if (!COPY_KNOWS_EVERY_FIELD) {
      return TenantWindow.newBuilder(w).build();
    }
    Map<String, AggregateCell> cells = new HashMap<>(2 * w.getCells().size());
    for (Map.Entry<String, AggregateCell> e : w.getCells().entrySet()) {
      AggregateCell c = e.getValue();
      cells.put(
          e.getKey(),
          new AggregateCell(
              c.getSourceTable(),
              c.getMetric(),
              c.getDimensions(),
              c.getRowCount(),
              c.getSum(),
              c.getMin(),
              c.getMax()));
    }
    return new TenantWindow(
        w.getWindowStart(),
        w.getEventsIn(),
        w.getDuplicatesSkipped(),
        w.getQuarantined(),
        w.getRevision(),
        w.getPausedSkipped(),
        w.getPolicyVersion(),
        cells);
  }
}
