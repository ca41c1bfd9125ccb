package io.tenantexport.jobs.io;

import java.io.IOException;
import org.apache.flink.core.fs.FSDataOutputStream;

/**
 * A write buffer in front of a file stream that does not buffer, for the Parquet writer.
 *
 * <p>Why: Parquet writes a file's footer (its schema and per column chunk metadata) through
 * Thrift's compact protocol, byte by byte, and Flink's local recoverable stream turns each write
 * into a {@code FileChannel.write} system call. At 100,000 tenants, where the drain writes one
 * small file per tenant, those calls and their thread-local buffers were over a third of the lake
 * writer's CPU (JFR, under {@code ParquetFileWriter.serializeFooter}).
 *
 * <p>Invariants: {@link #getPos} counts buffered bytes (Parquet records column chunk offsets from
 * it); the bytes reach the target in the order written; {@link #close} writes out the buffer but
 * leaves the target open, since the caller commits or discards it. Parquet's writer flushes its
 * stream when it finishes a file (and flink-parquet never closes it); the lake writer still calls
 * {@link #close} before it closes the target for commit, so that no byte can stay behind. The
 * buffer array is the caller's, reused file after file.
 */
final class BufferedFileOutput extends FSDataOutputStream {
  static final int DEFAULT_SIZE = 64 * 1024;

  private final FSDataOutputStream target;
  private final byte[] buffer;
  private int count;

  /**
   * @param buffer the write buffer, owned by this stream until {@link #close}: a caller writing one
   *     file after another passes the same array to each
   */
  BufferedFileOutput(FSDataOutputStream target, byte[] buffer) {
    if (buffer.length == 0) {
      throw new IllegalArgumentException("the write buffer must not be empty");
    }
    this.target = target;
    this.buffer = buffer;
  }

  @Override
  public void write(int b) throws IOException {
    if (count == buffer.length) {
      writeBuffer();
    }
    buffer[count++] = (byte) b;
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    if (len >= buffer.length) {
      // Large writes (column pages) go straight through: copying them would gain nothing.
      writeBuffer();
      target.write(b, off, len);
      return;
    }
    if (len > buffer.length - count) {
      writeBuffer();
    }
    System.arraycopy(b, off, buffer, count, len);
    count += len;
  }

  @Override
  public long getPos() throws IOException {
    return target.getPos() + count;
  }

  @Override
  public void flush() throws IOException {
    writeBuffer();
    target.flush();
  }

  @Override
  public void sync() throws IOException {
    writeBuffer();
    target.sync();
  }

  /** Writes out the buffer; the target stays open (see the class comment). */
  @Override
  public void close() throws IOException {
    writeBuffer();
  }

  private void writeBuffer() throws IOException {
    if (count > 0) {
      target.write(buffer, 0, count);
      count = 0;
    }
  }
}
