package io.tenantexport.jobs.operators;

import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.LakeRecord;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;

/**
 * Runs {@link TenantWindowAggregator}: a keyed process operator that also lets the function switch
 * the current key (to write an evicted tenant's windows) and writes the function's cached windows
 * to state before every checkpoint barrier.
 *
 * <p>Invariant: when a snapshot is taken, the windows state holds every window the function has
 * changed, because {@link #prepareSnapshotPreBarrier} runs before the barrier is forwarded and the
 * state snapshotted, with no record in between. The timer service and state names are those of
 * {@link KeyedProcessOperator}, so savepoints taken before this operator existed restore.
 */
public final class TenantWindowOperator
    extends KeyedProcessOperator<String, ChangeEvent, LakeRecord> {
  private static final long serialVersionUID = 1L;

  public TenantWindowOperator(TenantWindowAggregator function) {
    super(function);
  }

  @Override
  public void open() throws Exception {
    aggregator().runBy(this::setCurrentKey);
    super.open();
  }

  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    aggregator().writeCachedWindows();
    super.prepareSnapshotPreBarrier(checkpointId);
  }

  private TenantWindowAggregator aggregator() {
    return (TenantWindowAggregator) getUserFunction();
  }
}
