package io.tenantexport.local.v2;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;

/**
 * A pass-through operator whose state can never be written: every snapshot throws, as a state
 * serializer bug would. A job with it starts and runs, then fails on its first checkpoint (Flink
 * fails the job over on a checkpoint failure), restarts from the savepoint it started from, and
 * fails again: it never completes a checkpoint.
 */
public final class RefusesCheckpoints<T> implements MapFunction<T, T>, CheckpointedFunction {
  private static final long serialVersionUID = 1L;

  @Override
  public T map(T value) {
    return value;
  }

  @Override
  public void initializeState(FunctionInitializationContext context) {}

  @Override
  public void snapshotState(FunctionSnapshotContext context) {
    throw new IllegalStateException(
        "RefusesCheckpoints cannot write its state for checkpoint " + context.getCheckpointId());
  }
}
