package io.tenantexport.jobs.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.Random;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.junit.jupiter.api.Test;

class BufferedFileOutputTest {
  /** A file stream that does not buffer: counts the writes it gets and whether it was closed. */
  private static final class Target extends FSDataOutputStream {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int writes;
    boolean closed;

    @Override
    public void write(int b) {
      writes++;
      bytes.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      writes++;
      bytes.write(b, off, len);
    }

    @Override
    public long getPos() {
      return bytes.size();
    }

    @Override
    public void flush() {}

    @Override
    public void sync() {}

    @Override
    public void close() {
      closed = true;
    }
  }

  @Test
  void bytesArriveInOrderAndThePositionCountsBufferedBytes() throws Exception {
    Target target = new Target();
    BufferedFileOutput out = new BufferedFileOutput(target, new byte[16]);
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    Random random = new Random(7);
    for (int i = 0; i < 2_000; i++) {
      int kind = random.nextInt(3);
      if (kind == 0) {
        int b = random.nextInt(256);
        out.write(b);
        expected.write(b);
      } else {
        // kind 1: shorter than the buffer; kind 2: at least as long (goes straight through)
        byte[] chunk = new byte[kind == 1 ? random.nextInt(16) : 16 + random.nextInt(40)];
        random.nextBytes(chunk);
        int off = chunk.length == 0 ? 0 : random.nextInt(chunk.length);
        out.write(chunk, off, chunk.length - off);
        expected.write(chunk, off, chunk.length - off);
      }
      assertThat(out.getPos()).isEqualTo(expected.size());
    }
    out.flush();
    assertThat(target.bytes.toByteArray()).isEqualTo(expected.toByteArray());
  }

  @Test
  void byteByByteWritesReachTheTargetOneBufferAtATime() throws Exception {
    Target target = new Target();
    BufferedFileOutput out = new BufferedFileOutput(target, new byte[16]);
    for (int i = 0; i < 1_000; i++) {
      out.write(i);
    }
    assertThat(target.writes).isEqualTo(1_000 / 16);
    out.close();
    assertThat(target.writes).isEqualTo(1_000 / 16 + 1);
    assertThat(target.bytes.size()).isEqualTo(1_000);
  }

  @Test
  void closeWritesOutTheBufferButLeavesTheTargetOpenForItsCommit() throws Exception {
    Target target = new Target();
    BufferedFileOutput out = new BufferedFileOutput(target, new byte[64]);
    out.write(new byte[] {1, 2, 3}, 0, 3);
    assertThat(target.bytes.size()).isZero();
    out.close();
    assertThat(target.bytes.toByteArray()).containsExactly(1, 2, 3);
    assertThat(target.closed).isFalse();
  }
}
