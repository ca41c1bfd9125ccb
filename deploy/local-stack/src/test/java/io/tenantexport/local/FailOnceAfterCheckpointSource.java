package io.tenantexport.local;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * Wraps a real source and fails the job exactly once, in the middle of the input, after checkpoints
 * have completed and with records read since: the failover must then restore a checkpoint, re-read
 * what followed it, and the outputs must equal a run without failure.
 *
 * <p>Deterministic by construction rather than by pacing: each reader passes {@code holdAfter}
 * polls through (a Kafka reader emits one record per poll while it has records), then reads nothing
 * until {@code checkpointsBeforeFailure} checkpoints have completed, then passes up to {@code
 * holdAfter} more (slowly, so that they reach the operators downstream) and fails. A reader whose
 * input ends in that last stretch fails instead of ending. A reader with fewer than {@code
 * holdAfter} records ends normally; if every reader does, nothing fails and the caller's check of
 * {@link #FAILED} says so. (Pacing alone made the test depend on how fast the job ran: when the
 * input was read before two checkpoints completed, no failure was injected at all.)
 *
 * <p>The "failed once" flag is static: the MiniCluster runs every attempt in this JVM.
 */
final class FailOnceAfterCheckpointSource<T, S extends SourceSplit, E> implements Source<T, S, E> {
  private static final long serialVersionUID = 1L;
  static final AtomicBoolean FAILED = new AtomicBoolean();

  private final Source<T, S, E> delegate;
  private final int checkpointsBeforeFailure;
  private final int holdAfter;

  FailOnceAfterCheckpointSource(
      Source<T, S, E> delegate, int checkpointsBeforeFailure, int holdAfter) {
    this.delegate = delegate;
    this.checkpointsBeforeFailure = checkpointsBeforeFailure;
    this.holdAfter = holdAfter;
  }

  @Override
  public Boundedness getBoundedness() {
    return delegate.getBoundedness();
  }

  @Override
  public SplitEnumerator<S, E> createEnumerator(SplitEnumeratorContext<S> ctx) throws Exception {
    return delegate.createEnumerator(ctx);
  }

  @Override
  public SplitEnumerator<S, E> restoreEnumerator(SplitEnumeratorContext<S> ctx, E checkpoint)
      throws Exception {
    return delegate.restoreEnumerator(ctx, checkpoint);
  }

  @Override
  public SimpleVersionedSerializer<S> getSplitSerializer() {
    return delegate.getSplitSerializer();
  }

  @Override
  public SimpleVersionedSerializer<E> getEnumeratorCheckpointSerializer() {
    return delegate.getEnumeratorCheckpointSerializer();
  }

  @Override
  public SourceReader<T, S> createReader(SourceReaderContext ctx) throws Exception {
    SourceReader<T, S> reader = delegate.createReader(ctx);
    return new SourceReader<>() {
      private int completedCheckpoints;
      private long polled;
      private long polledAtRelease = -1;
      private CompletableFuture<Void> nextCheckpoint = new CompletableFuture<>();

      @Override
      public void start() {
        reader.start();
      }

      private boolean holding() {
        return !FAILED.get()
            && polled >= holdAfter
            && completedCheckpoints < checkpointsBeforeFailure;
      }

      private void failOnce(String why) {
        if (FAILED.compareAndSet(false, true)) {
          throw new IllegalStateException(
              "injected failure after "
                  + completedCheckpoints
                  + " checkpoints and "
                  + (polled - polledAtRelease)
                  + " records read since the hold ("
                  + why
                  + ")");
        }
      }

      @Override
      public InputStatus pollNext(ReaderOutput<T> output) throws Exception {
        if (FAILED.get()) {
          return reader.pollNext(output);
        }
        if (holding()) {
          return InputStatus.NOTHING_AVAILABLE; // isAvailable() waits for the next checkpoint
        }
        if (polled >= holdAfter) {
          if (polledAtRelease < 0) {
            polledAtRelease = polled;
          }
          if (polled - polledAtRelease >= holdAfter) {
            failOnce("read enough");
          }
          Thread.sleep(1); // lets what was read since the checkpoint reach the operators
        }
        polled++;
        InputStatus status = reader.pollNext(output);
        if (status == InputStatus.END_OF_INPUT && polledAtRelease >= 0) {
          failOnce("end of input");
        }
        return status;
      }

      @Override
      public List<S> snapshotState(long checkpointId) {
        return reader.snapshotState(checkpointId);
      }

      @Override
      public CompletableFuture<Void> isAvailable() {
        return holding() ? nextCheckpoint : reader.isAvailable();
      }

      @Override
      public void addSplits(List<S> splits) {
        reader.addSplits(splits);
      }

      @Override
      public void notifyNoMoreSplits() {
        reader.notifyNoMoreSplits();
      }

      @Override
      public void notifyCheckpointComplete(long checkpointId) throws Exception {
        completedCheckpoints++;
        reader.notifyCheckpointComplete(checkpointId);
        CompletableFuture<Void> waiting = nextCheckpoint;
        nextCheckpoint = new CompletableFuture<>();
        waiting.complete(null);
      }

      @Override
      public void close() throws Exception {
        reader.close();
      }
    };
  }
}
