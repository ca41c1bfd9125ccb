package io.tenantexport.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.jobs.io.LakeFileSink;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.local.inspect.LakeFiles;
import io.tenantexport.schemas.LakeRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.io.LocalInputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lake sink on real files, read back with parquet-avro's own reader ({@link LakeFiles}): one
 * file per contiguous bucket run, nothing visible before the commit, a second commit of the same
 * files (what a restore does) changes nothing, and an attempt that dies before its checkpoint
 * leaves no visible file.
 */
class LakeFileSinkTest {
  @TempDir Path lake;

  private static int seq;

  private static LakeRecord row(String tenant, String day) {
    int n = seq++;
    Instant t = Instant.parse(day + "T12:00:00Z");
    return LakeRecord.newBuilder()
        .setEventId("e" + n)
        .setTenantId(tenant)
        .setSourceTable("orders")
        .setOp("c")
        .setEventTime(t)
        .setSourceTs(t)
        .setSourcePosition("pg:lsn=" + n)
        .setExportVersion(3)
        .setColumns(Map.of("tenant_id", tenant, "amount", Integer.toString(n)))
        .build();
  }

  private LakeFileSink sink() {
    return new LakeFileSink(lake.toUri().toString(), ProductionIo.partPrefix(3), 1 << 20);
  }

  private static void write(SinkWriter<LakeRecord> w, List<LakeRecord> rows) throws Exception {
    for (LakeRecord r : rows) {
      w.write(r, null);
    }
  }

  private static final class Request<T> implements Committer.CommitRequest<T> {
    private final T committable;

    Request(T committable) {
      this.committable = committable;
    }

    @Override
    public T getCommittable() {
      return committable;
    }

    @Override
    public int getNumberOfRetries() {
      return 0;
    }

    @Override
    public void signalFailedWithKnownReason(Throwable t) {
      throw new AssertionError(t);
    }

    @Override
    public void signalFailedWithUnknownReason(Throwable t) {
      throw new AssertionError(t);
    }

    @Override
    public void retryLater() {
      throw new AssertionError("retry");
    }

    @Override
    public void updateAndRetryLater(T committable) {
      throw new AssertionError("retry");
    }

    @Override
    public void signalAlreadyCommitted() {}
  }

  private static CommittingSinkWriter<LakeRecord, LakeFileSink.PendingFile> writer(
      LakeFileSink sink) throws Exception {
    return sink.createWriter(new SimpleCounter());
  }

  /** Closes the writer's open file and commits every file it closed, as a completed checkpoint. */
  private static void commitPending(
      LakeFileSink sink, CommittingSinkWriter<LakeRecord, LakeFileSink.PendingFile> w)
      throws Exception {
    List<Committer.CommitRequest<LakeFileSink.PendingFile>> requests = new ArrayList<>();
    w.prepareCommit().forEach(f -> requests.add(new Request<>(f)));
    try (Committer<LakeFileSink.PendingFile> committer = sink.createCommitter(null)) {
      committer.commit(requests);
    }
  }

  @Test
  void filesAppearOnlyOnCommitOneFilePerRunAndACommitAgainChangesNothing() throws Exception {
    LakeFileSink sink = sink();
    var w = writer(sink);
    List<LakeRecord> a1 = List.of(row("t1", "2026-11-20"), row("t1", "2026-11-20"));
    List<LakeRecord> b = List.of(row("t2", "2026-11-20"));
    List<LakeRecord> a2 = List.of(row("t1", "2026-11-20"));
    write(w, a1);
    write(w, b);
    write(w, a2);
    Collection<LakeFileSink.PendingFile> pending = w.prepareCommit();
    assertThat(pending).extracting(LakeFileSink.PendingFile::rows).containsExactly(2L, 1L, 1L);
    assertThat(LakeFiles.committedFiles(lake)).isEmpty();

    // Through the serializer, as the committer operator's state holds them.
    SimpleVersionedSerializer<LakeFileSink.PendingFile> s = sink.getCommittableSerializer();
    List<Committer.CommitRequest<LakeFileSink.PendingFile>> requests = new ArrayList<>();
    for (LakeFileSink.PendingFile f : pending) {
      requests.add(new Request<>(s.deserialize(s.getVersion(), s.serialize(f))));
    }
    try (Committer<LakeFileSink.PendingFile> committer = sink.createCommitter(null)) {
      committer.commit(requests);
      List<Path> files = LakeFiles.committedFiles(lake);
      assertThat(files).hasSize(3);
      assertThat(files)
          .allSatisfy(f -> assertThat(f.getFileName().toString()).startsWith("part-v3-"));
      committer.commit(requests); // a restore commits the checkpoint's files again
      assertThat(LakeFiles.committedFiles(lake)).isEqualTo(files);
    }
    List<LakeFiles.Row> rows = LakeFiles.readAll(lake);
    assertThat(rows).hasSize(4);
    assertThat(rows)
        .allSatisfy(
            r -> assertThat(r.record().get("tenant_id").toString()).isEqualTo(r.pathTenant()));
    assertThat(rows.stream().map(r -> r.record().get("event_id").toString()))
        .containsExactlyInAnyOrderElementsOf(
            List.of(a1.get(0), a1.get(1), b.get(0), a2.get(0)).stream()
                .map(LakeRecord::getEventId)
                .toList());
    w.close();
  }

  @Test
  void theEventIdAndPositionColumnsAreWrittenWithoutADictionaryTheOthersWithOne() throws Exception {
    LakeFileSink sink = sink();
    var w = writer(sink);
    List<LakeRecord> rows = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      // Repeating values, which Parquet would dictionary-encode: the unique columns must be plain
      // by the writer's setting, not because a dictionary did not pay off (it never does for them
      // in production, but Parquet only finds that out after a page's worth of values).
      LakeRecord r = row("t1", "2026-11-20");
      r.setEventId("e" + i % 5);
      r.setSourcePosition("pg:lsn=" + i % 5);
      rows.add(r);
    }
    write(w, rows);
    commitPending(sink, w);
    List<Path> files = LakeFiles.committedFiles(lake);
    assertThat(files).hasSize(1);
    Map<String, Boolean> dictionary = new TreeMap<>();
    try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(files.get(0)))) {
      for (BlockMetaData block : reader.getFooter().getBlocks()) {
        for (ColumnChunkMetaData c : block.getColumns()) {
          dictionary.merge(
              c.getPath().toDotString(),
              c.getEncodings().stream().anyMatch(Encoding::usesDictionary),
              Boolean::logicalOr);
        }
      }
    }
    assertThat(dictionary)
        .containsEntry("event_id", false)
        .containsEntry("source_position", false)
        .containsEntry("tenant_id", true)
        .containsEntry("source_table", true)
        .containsEntry("columns.key_value.key", true);
    assertThat(LakeFiles.readAll(lake)).hasSize(500);
    w.close();
  }

  @Test
  void aFileOfManyRowGroupsAndMoreThanTheWriteBufferReadsBackWhole() throws Exception {
    // Small row groups: the file holds several, each with column chunk offsets taken from the
    // buffered stream's position, and is several times the 64 KiB write buffer.
    LakeFileSink sink =
        new LakeFileSink(lake.toUri().toString(), ProductionIo.partPrefix(3), 16_384);
    var w = writer(sink);
    List<LakeRecord> rows = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      rows.add(row("t1", "2026-11-20"));
    }
    write(w, rows);
    commitPending(sink, w);
    List<Path> files = LakeFiles.committedFiles(lake);
    assertThat(files).hasSize(1);
    assertThat(Files.size(files.get(0))).isGreaterThan(4L * 64 * 1024);
    try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(files.get(0)))) {
      assertThat(reader.getFooter().getBlocks()).hasSizeGreaterThan(2);
    }
    assertThat(LakeFiles.readAll(lake).stream().map(r -> r.record().get("event_id").toString()))
        .containsExactlyInAnyOrderElementsOf(rows.stream().map(LakeRecord::getEventId).toList());
    w.close();
  }

  @Test
  void anAttemptThatDiesBeforeItsCheckpointLeavesNoVisibleFile() throws Exception {
    var w = writer(sink());
    write(w, List.of(row("t1", "2026-11-20"), row("t2", "2026-11-21")));
    w.prepareCommit(); // closed, never committed: the checkpoint did not complete
    write(w, List.of(row("t1", "2026-11-20")));
    w.close(); // the open file is discarded
    assertThat(LakeFiles.committedFiles(lake)).isEmpty();
    assertThat(LakeFiles.readAll(lake)).isEmpty();
  }
}
