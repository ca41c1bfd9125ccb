package io.tenantexport.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tenantexport.schemas.LakeRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificData;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lake swap on real Parquet files, written as the job writes them (parquet-avro, the {@code
 * LakeRecord} schema, the job's {@code part-v<N>-} names).
 */
class LakeSwapTest {
  private static final String T = "t01-globex";
  private static final String OTHER = "t02-initech";
  private static final Instant FROM = Instant.parse("2026-11-25T10:00:00Z");
  private static final Instant TO = Instant.parse("2026-11-25T10:05:00Z");
  private static final String DAY = "dt=2026-11-25";
  private static final String ID = "r5-20261126t120000";
  private static final ReplayRange RANGE = new ReplayRange(T, FROM, TO);

  @TempDir Path lake;
  private Path partition;
  private final List<String> log = new ArrayList<>();

  @BeforeEach
  void liveLake() throws IOException {
    partition = lake.resolve("tenant_id=" + T).resolve(DAY);
    // a: a replayed row (e1) and one the replay did not read (e2); b: replayed rows only; c: none.
    write(
        partition.resolve("part-v1-aaa-0.parquet"),
        row(T, "e1", 1, 1, "live"),
        row(T, "e2", 9, 1, "live"));
    write(partition.resolve("part-v1-bbb-0.parquet"), row(T, "e3", 2, 1, "live"));
    write(partition.resolve("part-v1-ccc-0.parquet"), row(T, "e4", 3, 1, "live"));
    // Another tenant with the very same event ids: never opened.
    Path other = lake.resolve("tenant_id=" + OTHER).resolve(DAY);
    write(
        other.resolve("part-v1-ddd-0.parquet"),
        row(OTHER, "e1", 1, 1, "live"),
        row(OTHER, "e3", 2, 1, "live"));
    write(
        LakeSwap.staging(lake, ID)
            .resolve("tenant_id=" + T)
            .resolve(DAY)
            .resolve("part-v5-eee-0.parquet"),
        row(T, "e1", 1, 5, "replayed"),
        row(T, "e3", 2, 5, "replayed"),
        row(T, "e5", 4, 5, "replayed"));
  }

  @Test
  void replayedRowsReplaceTheLiveOnesOnceAndNothingElseChanges() throws Exception {
    Map<String, String> otherBefore = digests(lake.resolve("tenant_id=" + OTHER));
    String untouched = sha(partition.resolve("part-v1-ccc-0.parquet"));
    byte[] a = Files.readAllBytes(partition.resolve("part-v1-aaa-0.parquet"));
    byte[] b = Files.readAllBytes(partition.resolve("part-v1-bbb-0.parquet"));

    LakeSwap swap = swap();
    LakeSwap.Outcome outcome = swap.swap(swap.staged());

    assertThat(outcome).isEqualTo(new LakeSwap.Outcome(1, 3, 1, 1, 2));
    assertThat(rows(partition))
        .containsExactlyInAnyOrder(
            "e1 v5 replayed", "e2 v1 live", "e3 v5 replayed", "e4 v1 live", "e5 v5 replayed");
    assertThat(names(partition))
        .containsExactly(
            "part-v1-aaa-0-replay-" + ID + ".parquet",
            "part-v1-ccc-0.parquet",
            "part-v5-eee-0.parquet");
    assertThat(sha(partition.resolve("part-v1-ccc-0.parquet"))).isEqualTo(untouched);
    Path kept = LakeSwap.replaced(lake, ID).resolve("tenant_id=" + T).resolve(DAY);
    assertThat(Files.readAllBytes(kept.resolve("part-v1-aaa-0.parquet"))).isEqualTo(a);
    assertThat(Files.readAllBytes(kept.resolve("part-v1-bbb-0.parquet"))).isEqualTo(b);
    assertThat(digests(lake.resolve("tenant_id=" + OTHER))).isEqualTo(otherBefore);
    assertThat(LakeSwap.staging(lake, ID)).doesNotExist();
    assertThat(log).anyMatch(l -> l.startsWith("replaced tenant_id=" + T));
  }

  @Test
  void aRewrittenFileKeepsTheParquetSchemaCodecAndRowsOfTheOriginal() throws Exception {
    Path original = partition.resolve("part-v1-aaa-0.parquet");
    Path copy = lake.resolve("copy.parquet");
    List<GenericRecord> rows = LakeSwap.read(original);

    LakeSwap.writeLike(original, copy, rows.subList(1, 2));

    assertThat(LakeSwap.footer(copy).getFileMetaData().getSchema())
        .isEqualTo(LakeSwap.footer(original).getFileMetaData().getSchema());
    assertThat(LakeSwap.footer(copy).getBlocks().get(0).getColumns().get(0).getCodec())
        .isEqualTo(CompressionCodecName.SNAPPY);
    assertThat(LakeSwap.read(copy))
        .extracting(Object::toString)
        .containsExactly(rows.get(1).toString());
  }

  @Test
  void aStagedFileOfAnotherTenantStopsTheSwapBeforeTheLakeIsTouched() throws Exception {
    write(
        LakeSwap.staging(lake, ID)
            .resolve("tenant_id=" + OTHER)
            .resolve(DAY)
            .resolve("part-v5-fff-0.parquet"),
        row(OTHER, "e9", 1, 5, "replayed"));
    Map<String, String> before = digests(lake.resolve("tenant_id=" + T));

    assertThatThrownBy(() -> swap().staged())
        .isInstanceOf(CommandFailedException.class)
        .hasMessageContaining("tenant_id=" + OTHER)
        .hasMessageContaining("nothing was swapped");
    assertThat(digests(lake.resolve("tenant_id=" + T))).isEqualTo(before);
  }

  @Test
  void aStagedRowOutsideTheRangeStopsTheSwap() throws Exception {
    write(
        LakeSwap.staging(lake, ID)
            .resolve("tenant_id=" + T)
            .resolve(DAY)
            .resolve("part-v5-ggg-0.parquet"),
        row(T, "e8", 5 * 60, 5, "replayed"));

    assertThatThrownBy(() -> swap().staged())
        .isInstanceOf(CommandFailedException.class)
        .hasMessageContaining("2026-11-25T10:05:00Z, outside " + RANGE);
  }

  @Test
  void theCatchUpPassTakesOutALaterLiveCommitAndThenFindsNothing() throws Exception {
    LakeSwap swap = swap();
    LakeSwap.Staged staged = swap.staged();
    swap.swap(staged);
    // The live job commits a file with a replayed row after the swap; hidden files stay as they
    // are.
    write(
        partition.resolve("part-v1-hhh-0.parquet"),
        row(T, "e5", 4, 1, "live"),
        row(T, "e6", 6, 1, "live"));
    Path hidden = partition.resolve(".part-v1-iii-0.parquet.inprogress.x");
    write(hidden, row(T, "e1", 1, 1, "live"));
    String hiddenSha = sha(hidden);

    assertThat(swap.retract(staged.eventIds()).retracted()).isEqualTo(1);
    assertThat(swap.retract(staged.eventIds()).retracted()).isZero();

    assertThat(rows(partition))
        .containsExactlyInAnyOrder(
            "e1 v5 replayed",
            "e2 v1 live",
            "e3 v5 replayed",
            "e4 v1 live",
            "e5 v5 replayed",
            "e6 v1 live");
    assertThat(sha(hidden)).isEqualTo(hiddenSha);
  }

  @Test
  void onlyLocalLakesCanBeSwapped() {
    assertThat(LakeSwap.localLake(lake.toUri().toString())).isEqualTo(lake);
    assertThat(LakeSwap.localLake("/data/lake")).isEqualTo(Path.of("/data/lake"));
    assertThatThrownBy(() -> LakeSwap.localLake("s3://bucket/lake"))
        .isInstanceOf(CommandFailedException.class)
        .hasMessageContaining("lake.path s3://bucket/lake")
        .hasMessageContaining("local file system only");
  }

  private LakeSwap swap() {
    return new LakeSwap(lake, RANGE, ID, 5, log::add);
  }

  /** A lake row of {@code tenant} at {@code seconds} after the range's start. */
  private static LakeRecord row(
      String tenant, String id, long seconds, int version, String marker) {
    Instant t = FROM.plusSeconds(seconds);
    return LakeRecord.newBuilder()
        .setEventId(id)
        .setTenantId(tenant)
        .setSourceTable("orders")
        .setOp("c")
        .setEventTime(t)
        .setSourceTs(t)
        .setSourcePosition("pg:lsn=" + seconds)
        .setLate(false)
        .setExportVersion(version)
        .setPolicyVersion(1)
        .setColumns(Map.of("status", marker))
        .build();
  }

  /** Writes a lake file as the job's sink does: parquet-avro, the LakeRecord schema, snappy. */
  private static void write(Path file, LakeRecord... rows) throws IOException {
    Files.createDirectories(file.getParent());
    try (ParquetWriter<LakeRecord> w =
        AvroParquetWriter.<LakeRecord>builder(new LocalOutputFile(file))
            .withConf(new PlainParquetConfiguration())
            .withSchema(LakeRecord.getClassSchema())
            .withDataModel(SpecificData.get())
            .withCompressionCodec(CompressionCodecName.SNAPPY)
            .build()) {
      for (LakeRecord r : rows) {
        w.write(r);
      }
    }
  }

  /** Every committed row of a partition as {@code <event id> v<export version> <marker>}. */
  private static List<String> rows(Path partition) throws IOException {
    List<String> rows = new ArrayList<>();
    for (String name : names(partition)) {
      for (GenericRecord r : LakeSwap.read(partition.resolve(name))) {
        rows.add(
            r.get("event_id")
                + " v"
                + r.get("export_version")
                + " "
                + ((Map<?, ?>) r.get("columns")).values().iterator().next());
      }
    }
    return rows;
  }

  private static List<String> names(Path partition) throws IOException {
    try (Stream<Path> files = Files.list(partition)) {
      return files
          .map(f -> f.getFileName().toString())
          .filter(n -> !n.startsWith("."))
          .sorted()
          .toList();
    }
  }

  /** SHA-256 of every file under {@code root} by relative path. */
  private static Map<String, String> digests(Path root) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path f : walk.filter(Files::isRegularFile).toList()) {
        out.put(root.relativize(f).toString(), sha(f));
      }
    }
    return out;
  }

  private static String sha(Path f) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
  }
}
