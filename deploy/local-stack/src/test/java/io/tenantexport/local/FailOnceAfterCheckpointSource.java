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
 * Wraps a real source and fails the job exactly once, in the middle of the input, after a
 * checkpoint has completed: the failover must then restore that checkpoint and the outputs must
 * equal a run without failure. Until the failure it emits slowly, so that a checkpoint completes
 * mid-input.
 *
 * <p>The "failed once" flag is static: the MiniCluster runs every attempt in this JVM.
 */
final class FailOnceAfterCheckpointSource<T, S extends SourceSplit, E> implements Source<T, S, E> {
  private static final long serialVersionUID = 1L;
  static final AtomicBoolean FAILED = new AtomicBoolean();

  private final Source<T, S, E> delegate;
  private final int checkpointsBeforeFailure;

  FailOnceAfterCheckpointSource(Source<T, S, E> delegate, int checkpointsBeforeFailure) {
    this.delegate = delegate;
    this.checkpointsBeforeFailure = checkpointsBeforeFailure;
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

      @Override
      public void start() {
        reader.start();
      }

      @Override
      public InputStatus pollNext(ReaderOutput<T> output) throws Exception {
        if (!FAILED.get()) {
          if (completedCheckpoints >= checkpointsBeforeFailure
              && FAILED.compareAndSet(false, true)) {
            throw new IllegalStateException(
                "injected failure after " + completedCheckpoints + " checkpoints");
          }
          if (++polled % 20 == 0) {
            Thread.sleep(2); // ~10k records/s per reader: checkpoints complete mid-input
          }
        }
        return reader.pollNext(output);
      }

      @Override
      public List<S> snapshotState(long checkpointId) {
        return reader.snapshotState(checkpointId);
      }

      @Override
      public CompletableFuture<Void> isAvailable() {
        return reader.isAvailable();
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
      }

      @Override
      public void close() throws Exception {
        reader.close();
      }
    };
  }
}
