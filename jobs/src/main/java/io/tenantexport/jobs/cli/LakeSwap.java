package io.tenantexport.jobs.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.avro.AvroSchemaConverter;
import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.schema.MessageType;

/**
 * Puts a replay's lake rows in place of the live ones, for one tenant: the replay job wrote its
 * rows under {@code <lake>/_staging/replay-<id>/tenant_id=<T>/dt=<D>/}, and this moves them into
 * {@code <lake>/tenant_id=<T>/dt=<D>/}, after taking every row with the same event id out of the
 * live files there. Event ids are deterministic (the same change has the same id in every run), so
 * a change the live job exported and the replay exported again is in the lake once afterwards.
 *
 * <p>Steps, each a rename or a new file:
 *
 * <ol>
 *   <li>Check every staged file: it lies in a {@code tenant_id=<T>/dt=<D>/} of the range's days, is
 *       named {@code part-v<R>-…} (the replay's export version), and each of its rows names tenant
 *       T and an event time in the range. Anything else fails before the live lake is touched.
 *   <li>For each committed live file of {@code tenant_id=<T>/dt=<D>/} (D a day of the range) that
 *       holds a replayed event id: write its other rows, same Avro and Parquet schema (checked) and
 *       codec, under a hidden name beside it; move the original to {@code
 *       <lake>/_replaced/replay-<id>/<its relative path>}; then rename the replacement to {@code
 *       <original name without .parquet>-replay-<id>.parquet} (same {@code part-v<N>-} prefix, so a
 *       rollback still finds it by export version). A file holding replayed rows only is moved away
 *       without a replacement.
 *   <li>Move the staged files into the live partitions, then remove the empty staging folders.
 * </ol>
 *
 * <p>Isolation: only {@code tenant_id=<T>/} of the live lake is listed, read or written; other
 * tenants' files are never opened. Hidden files (a name starting with {@code .}: the live job's
 * in-progress and pending part files) are never touched, and {@code _staging} and {@code _replaced}
 * start with {@code _}, which Hive-style readers (Spark, Trino, Hive) skip.
 *
 * <p>Atomicity, honestly: each step is a rename within one file system (atomic per file), not one
 * transaction over the partition. A reader listing T's partitions during the swap, which takes
 * milliseconds per file, can miss the rows of a file between moving the original away and
 * publishing its replacement, and the replayed rows until the staged files are moved in; it never
 * sees a row twice. A crash leaves every row either in the live partition, its original under
 * {@code _replaced/replay-<id>/}, or its staged file under {@code _staging/replay-<id>/}, and the
 * replay's registry row says how far it got. A table format (Iceberg, Delta) would make the swap
 * one atomic commit (delete files plus add files) that readers see all or nothing of, and would let
 * them read the lake as of before the replay.
 *
 * <p>Only lakes on the local file system (a {@code file:} URI or a path, such as a mounted volume)
 * can be swapped: the CLI carries no Flink file-system plugins, see {@link #localLake}.
 */
final class LakeSwap {
  static final String STAGING = "_staging";
  static final String REPLACED = "_replaced";
  private static final ParquetConfiguration CONF = new PlainParquetConfiguration();

  /** Where parquet-avro keeps a file's Avro schema in its footer (AvroWriteSupport's key). */
  private static final String AVRO_SCHEMA_KEY = "parquet.avro.schema";

  /** What a swap (or a later retraction pass) did. */
  record Outcome(
      int publishedFiles, long publishedRows, int replacedFiles, int removedFiles, long retracted) {
    Outcome plus(Outcome o) {
      return new Outcome(
          publishedFiles + o.publishedFiles,
          publishedRows + o.publishedRows,
          replacedFiles + o.replacedFiles,
          removedFiles + o.removedFiles,
          retracted + o.retracted);
    }

    @Override
    public String toString() {
      return publishedRows
          + " replayed rows in "
          + publishedFiles
          + " files published, "
          + retracted
          + " live rows taken out of "
          + (replacedFiles + removedFiles)
          + " live files ("
          + replacedFiles
          + " rewritten without them, "
          + removedFiles
          + " held nothing else)";
    }
  }

  private final Path lake;
  private final ReplayRange range;
  private final String replayId;
  private final int exportVersion;
  private final Consumer<String> log;

  /**
   * @param lake the live lake's root folder
   * @param exportVersion the replay's export version R: its files are named {@code part-vR-…}
   * @param log where each move is reported
   */
  LakeSwap(Path lake, ReplayRange range, String replayId, int exportVersion, Consumer<String> log) {
    this.lake = lake;
    this.range = range;
    this.replayId = replayId;
    this.exportVersion = exportVersion;
    this.log = log;
  }

  /**
   * The folder of a {@code lake.path} on the local file system.
   *
   * @throws CommandFailedException for any other scheme (s3://, hdfs://, ...): the swap would need
   *     Flink's file systems and their plugins, which the CLI does not load
   */
  static Path localLake(String lakePath) {
    if (!lakePath.contains(":/")) {
      return Path.of(lakePath).toAbsolutePath().normalize();
    }
    URI uri = URI.create(lakePath);
    if (!"file".equals(uri.getScheme())) {
      throw new CommandFailedException(
          "lake.path "
              + lakePath
              + ": replay swaps lake files on the local file system only (file: URIs or"
              + " mounted paths); for "
              + uri.getScheme()
              + ": run it where the lake is mounted");
    }
    return Path.of(uri);
  }

  /** Where the replay job writes: {@code <lake>/_staging/replay-<id>}. */
  static Path staging(Path lake, String replayId) {
    return lake.resolve(STAGING).resolve("replay-" + replayId);
  }

  /** Where live files the replay replaced are kept: {@code <lake>/_replaced/replay-<id>}. */
  static Path replaced(Path lake, String replayId) {
    return lake.resolve(REPLACED).resolve("replay-" + replayId);
  }

  /** The staged files, checked; the event ids of their rows. */
  record Staged(List<Path> files, Set<String> eventIds, long rows) {}

  /**
   * Lists and checks the staged files (step 1).
   *
   * @throws CommandFailedException naming the first file or row that is not the range's
   */
  Staged staged() {
    Path staging = staging(lake, replayId);
    List<Path> files = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    long rows = 0;
    Set<String> days = new HashSet<>();
    range.days().forEach(d -> days.add(d.toString()));
    for (Path f : regularFiles(staging)) {
      Path rel = staging.relativize(f);
      String name = f.getFileName().toString();
      if (name.startsWith(".")) {
        continue; // an attempt's in-progress file: never committed, never published
      }
      if (rel.getNameCount() != 3
          || !rel.getName(0).toString().equals("tenant_id=" + range.tenant())
          || !rel.getName(1).toString().startsWith("dt=")
          || !days.contains(rel.getName(1).toString().substring(3))
          || !name.startsWith(partPrefix(exportVersion))
          || !name.endsWith(".parquet")) {
        throw new CommandFailedException(
            "staged file "
                + f
                + " is not a lake file of "
                + range
                + " with export version "
                + exportVersion
                + ": nothing was swapped");
      }
      for (GenericRecord r : read(f)) {
        long eventTime = eventTime(r);
        if (!range.tenant().equals(String.valueOf(r.get("tenant_id")))
            || !range.contains(eventTime)) {
          throw new CommandFailedException(
              "staged file "
                  + f
                  + " holds a row of tenant "
                  + r.get("tenant_id")
                  + " at "
                  + Instant.ofEpochMilli(eventTime)
                  + ", outside "
                  + range
                  + ": nothing was swapped");
        }
        ids.add(r.get("event_id").toString());
        rows++;
      }
      files.add(f);
    }
    if (ids.size() != rows) {
      throw new CommandFailedException(
          "the staged files of replay "
              + replayId
              + " hold "
              + rows
              + " rows but "
              + ids.size()
              + " distinct event ids: nothing was swapped");
    }
    return new Staged(files, ids, rows);
  }

  /**
   * Steps 2 and 3 for files {@link #staged} checked: takes their rows out of the live files, then
   * moves them in.
   */
  Outcome swap(Staged staged) {
    Outcome taken = retract(staged.eventIds());
    for (Path f : staged.files()) {
      Path target = lake.resolve(staging(lake, replayId).relativize(f));
      move(f, target, "publishing a staged file");
      log.accept("published " + lake.relativize(target));
    }
    deleteEmptyFolders(staging(lake, replayId));
    return taken.plus(new Outcome(staged.files().size(), staged.rows(), 0, 0, 0));
  }

  /**
   * Step 2 alone: takes the rows with one of {@code eventIds} out of every committed live file of
   * the tenant's partitions of the range, except the replay's own ({@code part-vR-…}). Running it
   * again finds nothing more unless the live job has committed another such row since.
   */
  Outcome retract(Set<String> eventIds) {
    Outcome done = new Outcome(0, 0, 0, 0, 0);
    for (LocalDate day : range.days()) {
      Path partition = lake.resolve("tenant_id=" + range.tenant()).resolve("dt=" + day);
      for (Path f : liveFiles(partition)) {
        done = done.plus(retract(f, eventIds));
      }
    }
    return done;
  }

  private Outcome retract(Path file, Set<String> eventIds) {
    List<GenericRecord> rows = read(file);
    List<GenericRecord> kept = new ArrayList<>();
    for (GenericRecord r : rows) {
      if (!eventIds.contains(r.get("event_id").toString())) {
        kept.add(r);
      }
    }
    int taken = rows.size() - kept.size();
    if (taken == 0) {
      return new Outcome(0, 0, 0, 0, 0);
    }
    String name = file.getFileName().toString();
    Path published =
        file.resolveSibling(
            name.substring(0, name.length() - ".parquet".length())
                + "-replay-"
                + replayId
                + ".parquet");
    Path hidden = file.resolveSibling("." + published.getFileName() + ".inprogress");
    if (!kept.isEmpty()) {
      writeLike(file, hidden, kept);
    }
    Path away = replaced(lake, replayId).resolve(lake.relativize(file));
    move(file, away, "moving a live file away");
    if (!kept.isEmpty()) {
      move(hidden, published, "publishing a live file without the replayed rows");
    }
    log.accept(
        "replaced "
            + lake.relativize(file)
            + " ("
            + taken
            + " of "
            + rows.size()
            + " rows replayed)"
            + (kept.isEmpty() ? "" : " by " + published.getFileName()));
    return new Outcome(0, 0, kept.isEmpty() ? 0 : 1, kept.isEmpty() ? 1 : 0, taken);
  }

  /** Committed Parquet files of a live partition, except the replay's own; sorted. */
  private List<Path> liveFiles(Path partition) {
    if (!Files.isDirectory(partition)) {
      return List.of();
    }
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(partition)) {
      for (Path f : dir) {
        String name = f.getFileName().toString();
        if (!name.startsWith(".")
            && name.endsWith(".parquet")
            && !name.startsWith(partPrefix(exportVersion))
            && Files.isRegularFile(f)) {
          files.add(f);
        }
      }
    } catch (IOException e) {
      throw new CommandFailedException("cannot list lake partition " + partition, e);
    }
    files.sort(null);
    return files;
  }

  /** {@code part-v<R>-}: the start of the names of the lake files of export version R. */
  static String partPrefix(int exportVersion) {
    // The job's ProductionIo.partPrefix(exportVersion) and the FileSink's "-" separator.
    return "part-v" + exportVersion + "-";
  }

  /** Every row of a Parquet file, as generic Avro records of the file's own schema. */
  static List<GenericRecord> read(Path file) {
    List<GenericRecord> rows = new ArrayList<>();
    try (ParquetReader<GenericRecord> reader =
        AvroParquetReader.<GenericRecord>builder(new LocalInputFile(file), CONF)
            .withDataModel(GenericData.get())
            .build()) {
      for (GenericRecord r = reader.read(); r != null; r = reader.read()) {
        rows.add(r);
      }
    } catch (IOException e) {
      throw new CommandFailedException("cannot read lake file " + file, e);
    }
    return rows;
  }

  /** A Parquet file's footer. */
  static ParquetMetadata footer(Path file) {
    try (ParquetFileReader reader =
        ParquetFileReader.open(
            new LocalInputFile(file), ParquetReadOptions.builder(CONF).build())) {
      return reader.getFooter();
    } catch (IOException e) {
      throw new CommandFailedException("cannot read the footer of lake file " + file, e);
    }
  }

  /**
   * Writes {@code rows} to {@code target} with the Avro schema, Parquet schema and codec of {@code
   * like}; fails (and leaves no {@code target}) when the Parquet schema would differ.
   */
  static void writeLike(Path like, Path target, List<GenericRecord> rows) {
    ParquetMetadata footer = footer(like);
    MessageType parquetSchema = footer.getFileMetaData().getSchema();
    String avro = footer.getFileMetaData().getKeyValueMetaData().get(AVRO_SCHEMA_KEY);
    Schema schema =
        avro != null
            ? new Schema.Parser().parse(avro)
            : new AvroSchemaConverter(CONF).convert(parquetSchema);
    CompressionCodecName codec =
        footer.getBlocks().isEmpty()
            ? CompressionCodecName.UNCOMPRESSED
            : footer.getBlocks().get(0).getColumns().get(0).getCodec();
    try (ParquetWriter<GenericRecord> writer =
        AvroParquetWriter.<GenericRecord>builder(new LocalOutputFile(target))
            .withConf(CONF)
            .withSchema(schema)
            .withDataModel(GenericData.get())
            .withCompressionCodec(codec)
            .build()) {
      for (GenericRecord r : rows) {
        writer.write(r);
      }
    } catch (IOException e) {
      deleteQuietly(target);
      throw new CommandFailedException("cannot write " + target + " (a copy of " + like + ")", e);
    }
    MessageType written = footer(target).getFileMetaData().getSchema();
    if (!written.equals(parquetSchema)) {
      deleteQuietly(target);
      throw new CommandFailedException(
          "rewriting "
              + like
              + " would change its Parquet schema (from "
              + parquetSchema
              + " to "
              + written
              + "): nothing was replaced");
    }
  }

  /** A lake row's event time in epoch milliseconds, whether read as a long or an Instant. */
  static long eventTime(GenericRecord r) {
    Object t = r.get("event_time");
    return t instanceof Instant i ? i.toEpochMilli() : (Long) t;
  }

  /**
   * Renames {@code from} to {@code to} atomically, creating {@code to}'s folder; never replaces an
   * existing file (a name clash means something else wrote there: stop, and say where things are).
   */
  private void move(Path from, Path to, String step) {
    try {
      Files.createDirectories(to.getParent());
      if (Files.exists(to)) {
        throw new IOException(to + " exists");
      }
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new CommandFailedException(
          step
              + " ("
              + from
              + " to "
              + to
              + ") failed; originals replaced so far are under "
              + replaced(lake, replayId)
              + ", staged files not yet published under "
              + staging(lake, replayId),
          e);
    }
  }

  private static List<Path> regularFiles(Path root) {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(Files::isRegularFile).sorted().toList();
    } catch (IOException | UncheckedIOException e) {
      throw new CommandFailedException("cannot list " + root, e);
    }
  }

  /** Deletes the empty folders under {@code root} (deepest first), and {@code root} if empty. */
  private static void deleteEmptyFolders(Path root) {
    if (!Files.isDirectory(root)) {
      return;
    }
    List<Path> dirs;
    try (Stream<Path> walk = Files.walk(root)) {
      dirs = walk.filter(Files::isDirectory).sorted((a, b) -> b.compareTo(a)).toList();
    } catch (IOException | UncheckedIOException e) {
      return; // leaving an empty staging folder behind is harmless
    }
    for (Path d : dirs) {
      try (Stream<Path> entries = Files.list(d)) {
        if (entries.findAny().isEmpty()) {
          Files.delete(d);
        }
      } catch (IOException e) {
        // not empty (a hidden leftover of the replay job) or already gone: leave it
      }
    }
  }

  private static void deleteQuietly(Path f) {
    try {
      Files.deleteIfExists(f);
    } catch (IOException e) {
      // a hidden file: no reader sees it
    }
  }
}
