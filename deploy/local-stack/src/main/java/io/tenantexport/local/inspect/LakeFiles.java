package io.tenantexport.local.inspect;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.generic.GenericRecord;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;

/**
 * Reads the Parquet lake back with parquet-avro's own generic reader, independent of the job's
 * classes, as any engine would. Only committed files count: Flink's in-progress and pending part
 * files are hidden (their names start with a dot).
 */
public final class LakeFiles {
  private static final Pattern PARTITION =
      Pattern.compile("tenant_id=([^/]+)/dt=(\\d{4}-\\d{2}-\\d{2})/[^/]+$");

  /** One row as read from a file, with the partition its path names. */
  public record Row(String pathTenant, String pathDate, Path file, GenericRecord record) {}

  private LakeFiles() {}

  /**
   * Committed Parquet part files under {@code root}, sorted. Safe while the job runs: Flink renames
   * in-progress files as it commits them, so an entry that vanishes during the walk is skipped.
   * Folders named {@code _…} are skipped as query engines skip them: a canary's shadow lake, a
   * replay's staging area, files a rollback retracted or a replay replaced.
   */
  public static List<Path> committedFiles(Path root) {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    return allFiles(root).stream()
        .filter(
            file -> {
              String name = file.getFileName().toString();
              for (Path part : root.relativize(file)) {
                if (part.toString().startsWith("_")) {
                  return false;
                }
              }
              return !name.startsWith(".") && name.endsWith(".parquet");
            })
        .toList();
  }

  /**
   * Every regular file under {@code root}, recursively, sorted: in the lake its committed,
   * in-progress and pending part files alike, but any directory will do (a job's checkpoints, its
   * logs). None when {@code root} does not exist. Safe while a job writes there: an entry that
   * vanishes during the walk is left out.
   */
  public static List<Path> allFiles(Path root) {
    List<Path> files = new ArrayList<>();
    if (!Files.exists(root)) {
      return files;
    }
    try {
      Files.walkFileTree(
          root,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
              if (attrs.isRegularFile()) {
                files.add(file);
              }
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
              if (e instanceof NoSuchFileException) {
                return FileVisitResult.CONTINUE;
              }
              throw e;
            }
          });
    } catch (NoSuchFileException e) {
      // root itself vanished during the walk: what was found before it did
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
    files.sort(null);
    return files;
  }

  /** Every row of every committed file, with the tenant and date its path names. */
  public static List<Row> readAll(Path root) {
    List<Row> rows = new ArrayList<>();
    for (Path file : committedFiles(root)) {
      String rel = root.relativize(file).toString().replace('\\', '/');
      Matcher m = PARTITION.matcher(rel);
      if (!m.matches()) {
        throw new IllegalStateException("lake file outside tenant_id=…/dt=…/: " + rel);
      }
      try (ParquetReader<GenericRecord> reader =
          AvroParquetReader.<GenericRecord>builder(new LocalInputFile(file))
              .withConf(new Configuration(false))
              .build()) {
        for (GenericRecord r = reader.read(); r != null; r = reader.read()) {
          rows.add(new Row(m.group(1), m.group(2), file, r));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read lake file " + file, e);
      }
    }
    return rows;
  }

  /** Committed files per tenant partition. */
  public static Map<String, Integer> filesPerTenant(Path root) {
    Map<String, Integer> out = new TreeMap<>();
    for (Path file : committedFiles(root)) {
      String rel = root.relativize(file).toString().replace('\\', '/');
      Matcher m = PARTITION.matcher(rel);
      if (m.matches()) {
        out.merge(m.group(1), 1, Integer::sum);
      }
    }
    return out;
  }
}
