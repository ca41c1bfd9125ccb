package io.tenantexport.jobs.io;

import io.tenantexport.schemas.LakeRecord;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import org.apache.avro.specific.SpecificData;
import org.apache.flink.api.common.serialization.BulkWriter;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.fs.RecoverableFsDataOutputStream;
import org.apache.flink.core.fs.RecoverableWriter;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.formats.parquet.ParquetWriterFactory;
import org.apache.flink.metrics.Counter;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.avro.AvroParquetWriter;

/**
 * The Parquet lake: {@code <lake.path>/tenant_id=<t>/dt=<date>/part-v<export version>-…parquet},
 * written with parquet-avro through Flink's recoverable writers (local files, HDFS, S3).
 *
 * <p>Unlike Flink's FileSink, which keeps a Parquet writer open for every bucket that received a
 * row since the last checkpoint (≈ 2 MiB of heap each, so a heap that grows with the number of
 * tenants), this sink has at most one file open per subtask: it expects each bucket's rows in
 * contiguous runs, as {@code LakeFileBuffer} emits them, and closes the open file when the bucket
 * changes. Its heap is one Parquet row group ({@code lake.row_group_size}) plus page buffers and a
 * 64 KiB write buffer ({@link BufferedFileOutput}).
 *
 * <p>Exactly-once: a closed file is a pending file (a hidden in-progress name) that is committed
 * (renamed to its final name) only when the checkpoint that covers it completes; Flink's committer
 * operator keeps uncommitted files in its state and commits them again after a failure, which the
 * recoverable writer's {@code commitAfterRecovery} makes idempotent. Files of an attempt that
 * failed before its checkpoint stay hidden in-progress files, which readers skip.
 */
public final class LakeFileSink
    implements Sink<LakeRecord>, SupportsCommitter<LakeFileSink.PendingFile> {
  private static final long serialVersionUID = 1L;

  private final String root;
  private final String partPrefix;
  private final long rowGroupBytes;

  /**
   * @param root the lake root, a Flink filesystem URI
   * @param partPrefix file name prefix, {@code part-v<export version>}
   * @param rowGroupBytes Parquet row group size: the bound on the open file's buffered data
   */
  public LakeFileSink(String root, String partPrefix, long rowGroupBytes) {
    this.root = root;
    this.partPrefix = partPrefix;
    this.rowGroupBytes = rowGroupBytes;
  }

  /** A closed, not yet visible file. */
  public record PendingFile(String bucket, int recoverableVersion, byte[] recoverable, long rows) {}

  @Override
  public Writer createWriter(WriterInitContext context) throws IOException {
    return createWriter(context.metricGroup().counter("lakeFilesClosed"));
  }

  /** A writer counting the files it closes in {@code filesClosed} (tests give their own). */
  public Writer createWriter(Counter filesClosed) throws IOException {
    return new Writer(
        new Path(root),
        new Path(root).getFileSystem().createRecoverableWriter(),
        parquet(rowGroupBytes),
        partPrefix + "-" + UUID.randomUUID(),
        filesClosed);
  }

  @Override
  public Committer<PendingFile> createCommitter(CommitterInitContext context) throws IOException {
    return new FileCommitter(new Path(root).getFileSystem().createRecoverableWriter());
  }

  @Override
  public SimpleVersionedSerializer<PendingFile> getCommittableSerializer() {
    return new PendingFileSerializer();
  }

  /**
   * Columns whose every value is distinct: no dictionary for them. Why: Parquet dictionary-encodes
   * each column of each row group until the dictionary outgrows its page (1 MiB) and only then
   * falls back to plain, so a unique column paid a hash insert per value for nothing (a file of a
   * busy tenant), or kept a dictionary as large as its data (a quiet tenant's small file). The
   * other columns (tenant, table, op, the image's column names and values) repeat and keep theirs.
   */
  static final List<String> UNIQUE_COLUMNS = List.of("event_id", "source_position");

  static ParquetWriterFactory<LakeRecord> parquet(long rowGroupBytes) {
    return new ParquetWriterFactory<>(
        out -> {
          AvroParquetWriter.Builder<LakeRecord> b =
              AvroParquetWriter.<LakeRecord>builder(out)
                  .withSchema(LakeRecord.getClassSchema())
                  .withDataModel(SpecificData.get())
                  .withConf(HadoopDefaults.CONF)
                  .withRowGroupSize(rowGroupBytes);
          for (String column : UNIQUE_COLUMNS) {
            b = b.withDictionaryEncoding(column, false);
          }
          return b.build();
        });
  }

  /**
   * One Hadoop configuration for every file a TaskManager writes. Why: without one, each new
   * Parquet writer builds its own, which parses Hadoop's default XML resources again; with a file
   * per tenant and day that was most of the cost of a file, and at 100,000 tenants the files of one
   * drain took minutes. Only read after it is built.
   */
  private static final class HadoopDefaults {
    static final Configuration CONF = new Configuration();

    static {
      CONF.get("parquet.avro.write-old-list-structure"); // loads the resources once, here
    }
  }

  /** Writes one file at a time: a new file whenever the bucket of the incoming row changes. */
  public static final class Writer implements CommittingSinkWriter<LakeRecord, PendingFile> {
    private final Path root;
    private final RecoverableWriter fs;
    private final BulkWriter.Factory<LakeRecord> format;
    private final String namePrefix;
    private final Counter filesClosed;
    private final List<PendingFile> closed = new ArrayList<>();
    private final byte[] writeBuffer = new byte[BufferedFileOutput.DEFAULT_SIZE];
    private long fileCount;

    private String bucket;
    private RecoverableFsDataOutputStream stream;
    private BufferedFileOutput buffered;
    private BulkWriter<LakeRecord> writer;
    private long rows;

    Writer(
        Path root,
        RecoverableWriter fs,
        BulkWriter.Factory<LakeRecord> format,
        String namePrefix,
        Counter filesClosed) {
      this.root = root;
      this.fs = fs;
      this.format = format;
      this.namePrefix = namePrefix;
      this.filesClosed = filesClosed;
    }

    @Override
    public void write(LakeRecord r, Context context) throws IOException {
      String b = TenantDateBucketAssigner.bucketId(r);
      if (!b.equals(bucket)) {
        closeFile();
        bucket = b;
        Path file = new Path(new Path(root, b), namePrefix + "-" + fileCount++ + ".parquet");
        stream = fs.open(file);
        buffered = new BufferedFileOutput(stream, writeBuffer);
        writer = format.create(buffered);
        rows = 0;
      }
      writer.addElement(r);
      rows++;
    }

    @Override
    public void flush(boolean endOfInput) throws IOException {
      if (endOfInput) {
        closeFile();
      }
    }

    @Override
    public Collection<PendingFile> prepareCommit() throws IOException {
      closeFile();
      List<PendingFile> out = List.copyOf(closed);
      closed.clear();
      return out;
    }

    private void closeFile() throws IOException {
      if (writer == null) {
        return;
      }
      writer.finish();
      buffered.close(); // writes out what is left; the stream stays open for its commit
      RecoverableWriter.CommitRecoverable done = stream.closeForCommit().getRecoverable();
      SimpleVersionedSerializer<RecoverableWriter.CommitRecoverable> s =
          fs.getCommitRecoverableSerializer();
      closed.add(new PendingFile(bucket, s.getVersion(), s.serialize(done), rows));
      filesClosed.inc();
      writer = null;
      buffered = null;
      stream = null;
      bucket = null;
    }

    @Override
    public void close() throws IOException {
      if (stream != null) {
        stream.close(); // discards the unfinished file
      }
    }
  }

  /** Makes pending files visible; committing a file again after a failure is a no-op. */
  static final class FileCommitter implements Committer<PendingFile> {
    private final RecoverableWriter fs;

    FileCommitter(RecoverableWriter fs) {
      this.fs = fs;
    }

    @Override
    public void commit(Collection<CommitRequest<PendingFile>> requests) throws IOException {
      SimpleVersionedSerializer<RecoverableWriter.CommitRecoverable> s =
          fs.getCommitRecoverableSerializer();
      for (CommitRequest<PendingFile> request : requests) {
        PendingFile f = request.getCommittable();
        fs.recoverForCommit(s.deserialize(f.recoverableVersion(), f.recoverable()))
            .commitAfterRecovery();
      }
    }

    @Override
    public void close() {}
  }

  static final class PendingFileSerializer implements SimpleVersionedSerializer<PendingFile> {
    @Override
    public int getVersion() {
      return 1;
    }

    @Override
    public byte[] serialize(PendingFile f) throws IOException {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (DataOutputStream out = new DataOutputStream(bytes)) {
        out.writeUTF(f.bucket());
        out.writeInt(f.recoverableVersion());
        out.writeInt(f.recoverable().length);
        out.write(f.recoverable());
        out.writeLong(f.rows());
      }
      return bytes.toByteArray();
    }

    @Override
    public PendingFile deserialize(int version, byte[] serialized) throws IOException {
      if (version != 1) {
        throw new IOException("unknown pending lake file version " + version);
      }
      try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
        String bucket = in.readUTF();
        int recoverableVersion = in.readInt();
        byte[] recoverable = new byte[in.readInt()];
        in.readFully(recoverable);
        return new PendingFile(bucket, recoverableVersion, recoverable, in.readLong());
      }
    }
  }
}
