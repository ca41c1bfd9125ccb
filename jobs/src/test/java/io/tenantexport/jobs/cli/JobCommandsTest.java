package io.tenantexport.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code job} commands without a cluster: argument handling (exit status 2, nothing attempted)
 * and the REST client's errors, which name the endpoint and the HTTP status.
 */
class JobCommandsTest {
  @TempDir Path tmp;

  private static CliRun run(String... args) {
    return CliRun.run(args);
  }

  @Test
  void jobGroupHelpListsEveryOperation() {
    CliRun r = run("job", "--help");
    assertThat(r.status()).isZero();
    assertThat(r.out())
        .contains("job deploy", "job status", "job savepoint", "job upgrade", "job rollback")
        .contains("job stop");
  }

  @Test
  void deployWithoutRestIsAUsageError() throws Exception {
    Path jar = Files.writeString(tmp.resolve("job.jar"), "x");
    CliRun r = run("job", "deploy", "--jar", jar.toString());
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("tenant-export job deploy: missing --rest");
  }

  @Test
  void restMustBeAnHttpUrl() throws Exception {
    Path jar = Files.writeString(tmp.resolve("job.jar"), "x");
    CliRun r = run("job", "deploy", "--jar", jar.toString(), "--rest", "jobmanager:8081");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("--rest 'jobmanager:8081' is not an http(s)://host:port URL");
  }

  @Test
  void aMissingJarIsAUsageErrorNamingIt() {
    CliRun r = run("job", "upgrade", "--jar", "no/such.jar", "--rest", "http://127.0.0.1:8081");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("--jar no/such.jar: no such file");
  }

  @Test
  void deployNeedsAJar() {
    CliRun r = run("job", "deploy", "--rest", "http://127.0.0.1:8081");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("missing --jar <job jar>");
  }

  @Test
  void timeoutMustBeAPositiveDuration() throws Exception {
    assertThat(JobOperations.duration("--timeout", "90s")).isEqualTo(Duration.ofSeconds(90));
    assertThat(JobOperations.duration("--timeout", "500ms")).isEqualTo(Duration.ofMillis(500));
    CliRun r = run("job", "status", "--rest", "http://127.0.0.1:8081", "--timeout", "0s");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("--timeout '0s' is not a positive duration");
    r = run("job", "status", "--rest", "http://127.0.0.1:8081", "--timeout", "soon");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
  }

  @Test
  void unknownFlagsAndRepeatedOptionsAreRefused() {
    CliRun r = run("job", "rollback", "--rest", "http://a:1", "--to", "x", "--to", "y");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("--to given twice");
    r = run("job", "savepoint", "--rest", "http://a:1", "--drain");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("unknown flag --drain");
    r = run("job", "stop", "--rest", "http://a:1", "--drain=yes");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("--drain takes no value");
  }

  @Test
  void programArgsCarryTheConfigFileAndTheSettings() throws Exception {
    Args args =
        JobOperations.arguments()
            .parse(
                new String[] {
                  "--config", "deploy/job.yaml", "--job.version=v2", "--rest", "http://a:1"
                });
    assertThat(JobOperations.programArgs(args))
        .containsExactly(
            "--config", Path.of("deploy/job.yaml").toAbsolutePath().toString(), "--job.version=v2");
  }

  @Test
  void restErrorsNameTheEndpointAndTheStatus() throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/",
        exchange -> {
          byte[] body =
              "{\"errors\":[\"org.apache.flink.client.program.ProgramInvocationException: no class\"]}"
                  .getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(400, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
    try {
      String url = "http://127.0.0.1:" + server.getAddress().getPort();
      FlinkRest rest = new FlinkRest(url);
      assertThatThrownBy(() -> rest.runJar("abc_job.jar", List.of(), "file:/sp"))
          .isInstanceOf(CommandFailedException.class)
          .hasMessage(
              "POST "
                  + url
                  + "/jars/abc_job.jar/run: HTTP 400:"
                  + " org.apache.flink.client.program.ProgramInvocationException: no class");
    } finally {
      server.stop(0);
    }
  }

  @Test
  void anUnreachableClusterIsNamed() {
    FlinkRest rest = new FlinkRest("http://127.0.0.1:1");
    assertThatThrownBy(() -> rest.jobState("abc"))
        .isInstanceOf(CommandFailedException.class)
        .hasMessageStartingWith("GET http://127.0.0.1:1/jobs/abc: no answer");
  }

  @Test
  void theCurrentJobIsTheLastSuccessfulStart() {
    List<ExportRegistry.Row> rows =
        List.of(
            row(1, "deploy", "ok", "a"),
            row(2, "savepoint", "ok", "a"),
            row(3, "upgrade", "ok", "b"),
            row(4, "rollback", "ok", "a"),
            row(5, "upgrade", "failed", "c"),
            row(6, "rollback-auto", "ok", "a"),
            row(7, "stop", "ok", "a"));
    assertThat(ExportRegistry.current(rows).orElseThrow().id()).isEqualTo(6L);
    assertThat(ExportRegistry.lastStartBefore(rows, 3).orElseThrow().id()).isEqualTo(1L);
    assertThat(ExportRegistry.lastStartBefore(rows, 1)).isEmpty();
  }

  @Test
  void onlyANewerExportVersionIsRetracted() {
    assertThat(JobOperations.mustRetract(versioned(3, 2), versioned(1, 1))).isTrue();
    assertThat(JobOperations.mustRetract(versioned(3, 1), versioned(1, 1))).isFalse();
    assertThat(JobOperations.mustRetract(versioned(3, 1), versioned(1, 2))).isFalse();
    assertThat(JobOperations.mustRetract(versioned(3, null), versioned(1, 1))).isFalse();
  }

  @Test
  void lakeRetractionMovesTheCommittedFilesOfOneExportVersionOnly() throws Exception {
    Path lake = tmp.resolve("lake");
    Path a = file(lake, "tenant_id=t1/dt=2026-11-25/part-v2-abc-0.parquet");
    Path b = file(lake, "tenant_id=t2/dt=2026-11-26/part-v2-def-3.parquet");
    List<Path> kept =
        List.of(
            file(lake, "tenant_id=t1/dt=2026-11-25/part-v1-abc-0.parquet"),
            file(lake, "tenant_id=t1/dt=2026-11-25/part-v20-abc-0.parquet"),
            file(lake, "tenant_id=t1/dt=2026-11-25/.part-v2-abc-1.parquet.inprogress.x"),
            file(lake, "elsewhere/part-v2-abc-0.parquet"));
    String uri = lake.toUri().toString();

    assertThat(LakeRetraction.filesOf(lake, 2)).containsExactly(a, b);
    LakeRetraction.Moved moved = LakeRetraction.retract(uri, 2);

    assertThat(moved.files()).isEqualTo(2);
    assertThat(moved.archive()).isEqualTo(uri + "_retracted/export_version=2");
    Path archive = lake.resolve("_retracted/export_version=2");
    assertThat(archive.resolve("tenant_id=t1/dt=2026-11-25/part-v2-abc-0.parquet"))
        .hasContent(a.toString());
    assertThat(archive.resolve("tenant_id=t2/dt=2026-11-26/part-v2-def-3.parquet"))
        .hasContent(b.toString());
    assertThat(a).doesNotExist();
    assertThat(b).doesNotExist();
    kept.forEach(k -> assertThat(k).exists());
    // Run again (an interrupted rollback): nothing left to move, the archive is not a partition.
    assertThat(LakeRetraction.retract(uri, 2).files()).isZero();
  }

  @Test
  void aLakeFileAlreadyRetractedIsNotOverwritten() throws Exception {
    Path lake = tmp.resolve("lake");
    Path again = file(lake, "tenant_id=t1/dt=2026-11-25/part-v2-abc-0.parquet");
    file(lake, "_retracted/export_version=2/tenant_id=t1/dt=2026-11-25/part-v2-abc-0.parquet");
    assertThatThrownBy(() -> LakeRetraction.retract(lake.toUri().toString(), 2))
        .isInstanceOf(CommandFailedException.class)
        .hasMessageContaining("cannot retract " + again)
        .hasMessageContaining("already exists");
    assertThat(again).exists();
  }

  @Test
  void onlyFileLakesAreRetractedAndOthersAreToldWhatToMove() {
    assertThat(LakeRetraction.supports("file:///var/lake")).isTrue();
    assertThat(LakeRetraction.supports("s3://bucket/lake")).isFalse();
    assertThat(LakeRetraction.byHand("s3://bucket/lake", 4))
        .isEqualTo(
            "move every part-v4-* file under s3://bucket/lake tenant_id=*/dt=*/ to"
                + " s3://bucket/lake/_retracted/export_version=4/ (same relative path) with the"
                + " store's own tools");
  }

  @Test
  void failuresAreReadFromTheExceptionHistoryNewestFirst() throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/jobs/j1/exceptions",
        exchange -> {
          byte[] body =
              ("{\"exceptionHistory\":{\"entries\":["
                      + "{\"exceptionName\":\"java.io.IOException\",\"stacktrace\":"
                      + "\"java.io.IOException: Could not perform checkpoint 56\\n\\tat a.B.c(B.java:1)"
                      + "\\nCaused by: java.lang.IllegalStateException: cannot write\\n\\tat x.Y.z(Y.java:2)\"},"
                      + "{\"exceptionName\":\"java.lang.RuntimeException\",\"stacktrace\":\"\"}"
                      + "],\"truncated\":false}}")
                  .getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
    try {
      FlinkRest rest = new FlinkRest("http://127.0.0.1:" + server.getAddress().getPort());
      assertThat(rest.failures("j1"))
          .containsExactly(
              "java.io.IOException: Could not perform checkpoint 56"
                  + " | Caused by: java.lang.IllegalStateException: cannot write",
              "java.lang.RuntimeException");
      assertThat(rest.rootException("j1")).startsWith("java.io.IOException");
      assertThat(rest.failures("unknown")).isEmpty();
    } finally {
      server.stop(0);
    }
  }

  private static Path file(Path root, String relative) throws Exception {
    Path f = root.resolve(relative);
    Files.createDirectories(f.getParent());
    Files.writeString(f, f.toString());
    return f;
  }

  private static ExportRegistry.Row versioned(long id, Integer exportVersion) {
    return new ExportRegistry.Row(
        id, null, "upgrade", "job" + id, "j", null, null, null, exportVersion, "sp", "ok", null);
  }

  private static ExportRegistry.Row row(long id, String action, String outcome, String jar) {
    return new ExportRegistry.Row(
        id, null, action, "job" + id, jar, null, null, null, null, null, outcome, null);
  }
}
