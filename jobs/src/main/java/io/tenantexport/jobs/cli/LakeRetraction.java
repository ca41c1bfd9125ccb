package io.tenantexport.jobs.cli;

import io.tenantexport.jobs.pipeline.ProductionIo;
import java.io.IOException;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Takes back the lake files one export version wrote: every committed file named {@code
 * part-v<version>-*} ({@link ProductionIo#partPrefix}) in a partition folder {@code
 * tenant_id=*}/{@code dt=*} of the lake moves to {@code
 * <lake>/_retracted/export_version=<version>/} under the same relative path. Nothing is deleted:
 * what a reader saw stays on record, and a retraction made by mistake is undone by moving the files
 * back.
 *
 * <p>{@code _retracted} starts with an underscore, which lake readers (Spark, Hive, Trino, Flink's
 * own file source) treat as hidden, so the retracted files leave every query of the lake. Flink's
 * in-progress and pending part files start with a dot and are never moved: they are not committed,
 * and the job that owns them discards or commits them itself.
 *
 * <p>Only {@code file://} lakes (a local or mounted file system) are supported; the move is a
 * rename within one file system. Other schemes of {@code lake.path} ({@code s3://}, {@code gs://},
 * {@code abfs://}, {@code hdfs://}) need a mover over Flink's {@code FileSystem} with the scheme's
 * plugin from {@code FLINK_HOME/plugins} and its credentials (an object store renames by copy and
 * delete); for them {@link #byHand} says what to move.
 *
 * <p>Idempotent: files already moved are not found again, so a retraction interrupted half-way
 * completes when run again. A file that already exists at its target (moved before, then written
 * again by the same version) is an error, not overwritten.
 */
final class LakeRetraction {
  /** The folder under the lake root that holds retracted files, per export version. */
  static final String RETRACTED = "_retracted";

  private LakeRetraction() {}

  /** What a retraction moved: how many files, and where to. */
  record Moved(int files, String archive) {}

  /** Whether this class can move files in the lake at {@code lakePath}: {@code file://} only. */
  static boolean supports(String lakePath) {
    return "file".equals(URI.create(lakePath).getScheme());
  }

  /** What to do by hand when the lake is not {@link #supports supported}. */
  static String byHand(String lakePath, int exportVersion) {
    return "move every "
        + ProductionIo.partPrefix(exportVersion)
        + "-* file under "
        + lakePath
        + " tenant_id=*/dt=*/ to "
        + archive(lakePath, exportVersion)
        + "/ (same relative path) with the store's own tools";
  }

  /** {@code <lake>/_retracted/export_version=<version>}, as a URI string. */
  static String archive(String lakePath, int exportVersion) {
    return (lakePath.endsWith("/") ? lakePath : lakePath + "/")
        + RETRACTED
        + "/export_version="
        + exportVersion;
  }

  /** The committed files of {@code exportVersion} in the partition folders under {@code root}. */
  static List<Path> filesOf(Path root, int exportVersion) throws IOException {
    String prefix = ProductionIo.partPrefix(exportVersion) + "-";
    List<Path> files = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return files;
    }
    for (Path tenant : folders(root, "tenant_id=")) {
      for (Path date : folders(tenant, "dt=")) {
        try (DirectoryStream<Path> names = Files.newDirectoryStream(date, prefix + "*")) {
          for (Path file : names) {
            if (Files.isRegularFile(file)) {
              files.add(file);
            }
          }
        }
      }
    }
    files.sort(null);
    return files;
  }

  /**
   * Moves every committed file of {@code exportVersion} to the archive; see the class comment. Only
   * for a lake this class {@link #supports}.
   */
  static Moved retract(String lakePath, int exportVersion) {
    Path root = Path.of(URI.create(lakePath));
    Path archive = root.resolve(RETRACTED).resolve("export_version=" + exportVersion);
    int moved = 0;
    Path current = null;
    try {
      for (Path file : filesOf(root, exportVersion)) {
        current = file;
        Path target = archive.resolve(root.relativize(file));
        // An atomic move replaces an existing target on POSIX file systems: check first.
        if (Files.exists(target)) {
          throw new FileAlreadyExistsException(target.toString());
        }
        Files.createDirectories(target.getParent());
        // Same file system: a rename, so a reader sees the file in one place or the other.
        Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
        moved++;
      }
    } catch (FileAlreadyExistsException e) {
      throw new CommandFailedException(
          "cannot retract "
              + current
              + ": "
              + e.getFile()
              + " already exists (retracted before?); "
              + moved
              + " file(s) of export version "
              + exportVersion
              + " moved so far",
          e);
    } catch (IOException e) {
      throw new CommandFailedException(
          "cannot retract lake files of export version "
              + exportVersion
              + " under "
              + root
              + (current == null ? "" : " (at " + current + ")")
              + ": "
              + e
              + "; "
              + moved
              + " file(s) moved so far, run the rollback again to move the rest",
          e);
    }
    return new Moved(moved, archive(lakePath, exportVersion));
  }

  private static List<Path> folders(Path parent, String prefix) throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> children = Files.newDirectoryStream(parent, prefix + "*")) {
      for (Path child : children) {
        if (Files.isDirectory(child)) {
          out.add(child);
        }
      }
    }
    return out;
  }
}
