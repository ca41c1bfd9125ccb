package io.tenantexport.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.io.AvroJson;
import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.AuditType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * What the {@code job} commands share: the Flink REST client, the export registry, the audit topic,
 * and the steps an operation is made of (start a jar, wait until it is healthy, stop with a
 * savepoint, cancel). Every operation ends with {@link #record}: one registry row, then one {@code
 * OPERATION} audit event naming that row.
 *
 * <p>The REST URL comes from {@code --rest} only: it says where the cluster is, which the job
 * itself never needs, so it is not a setting of the job configuration.
 */
final class JobOperations {
  static final String REST = "--rest";
  static final String REGISTRY_USER = "--registry-user";
  static final String TIMEOUT = "--timeout";
  static final String DIR = "--dir";
  static final String JAR = "--jar";

  static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(2);

  static final String HELP =
      """
        --rest <url>          Flink's REST API (the JobManager's web port), e.g.
                              http://jobmanager:8081; required
        --timeout <duration>  how long to wait for a savepoint, or for a started job to run
                              with a completed checkpoint (default 2m; 500ms, 30s, 5m, 1h)
        --registry-user <u>   the warehouse login for the export registry, a member of
                              tenant_export_operator (default: warehouse.user); its password
                              is read from TENANT_EXPORT_WAREHOUSE_PASSWORD
      """
          + JobConfigs.HELP;

  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");
  private static final Duration POLL = Duration.ofMillis(200);

  final JobConfig config;
  final FlinkRest rest;
  final ExportRegistry registry;
  final Duration timeout;
  private final Io io;

  private JobOperations(
      JobConfig config, FlinkRest rest, ExportRegistry registry, Duration timeout, Io io) {
    this.config = config;
    this.rest = rest;
    this.registry = registry;
    this.timeout = timeout;
    this.io = io;
  }

  /** The options every {@code job} command accepts. */
  static Args.Spec arguments() {
    return new Args.Spec()
        .value(REST)
        .value(TIMEOUT)
        .value(REGISTRY_USER)
        .value(JobConfigs.CONFIG)
        .jobSettings();
  }

  /** Checks the command line and loads the job configuration; contacts nothing yet. */
  static JobOperations open(Args args, Io io) throws UsageException {
    String url = restUrl(args.value(REST));
    Duration timeout =
        args.value(TIMEOUT) == null ? DEFAULT_TIMEOUT : duration(TIMEOUT, args.value(TIMEOUT));
    JobConfig config = JobConfigs.load(args, io);
    String user =
        args.value(REGISTRY_USER) == null ? config.warehouseUser() : args.value(REGISTRY_USER);
    return new JobOperations(
        config,
        new FlinkRest(url),
        new ExportRegistry(config.warehouseUrl(), user, io.env().get(JobConfig.PASSWORD_ENV)),
        timeout,
        io);
  }

  static String restUrl(String value) throws UsageException {
    if (value == null) {
      throw new UsageException("missing " + REST + " <url> (Flink's REST API, http://host:port)");
    }
    if (!value.matches("https?://[^/\\s]+(/\\S*)?")) {
      throw new UsageException(REST + " '" + value + "' is not an http(s)://host:port URL");
    }
    return value;
  }

  static Duration duration(String option, String value) throws UsageException {
    Matcher m = DURATION.matcher(value);
    if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
      throw new UsageException(
          option + " '" + value + "' is not a positive duration such as 500ms, 30s, 5m or 1h");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }

  /** A jar option's value as an existing file. */
  static Path existingJar(String option, String value) throws UsageException {
    if (value == null) {
      throw new UsageException("missing " + option + " <job jar>");
    }
    Path jar = Path.of(value).toAbsolutePath().normalize();
    if (!Files.isRegularFile(jar)) {
      throw new UsageException(option + " " + value + ": no such file");
    }
    return jar;
  }

  /** The job's program arguments: the configuration file and the settings given as flags. */
  static List<String> programArgs(Args args) {
    List<String> programArgs = new ArrayList<>();
    if (args.value(JobConfigs.CONFIG) != null) {
      programArgs.add(JobConfigs.CONFIG);
      programArgs.add(Path.of(args.value(JobConfigs.CONFIG)).toAbsolutePath().toString());
    }
    programArgs.addAll(List.of(args.settings()));
    return programArgs;
  }

  /** {@code <file name> sha256:<hex>}, as the registry names a jar. */
  static String jarLabel(Path jar) {
    try (InputStream in = Files.newInputStream(jar)) {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[1 << 16];
      for (int n; (n = in.read(buffer)) > 0; ) {
        sha.update(buffer, 0, n);
      }
      return jar.getFileName() + " sha256:" + HexFormat.of().formatHex(sha.digest());
    } catch (IOException e) {
      throw new CommandFailedException("cannot read jar " + jar + ": " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The jar a registry row started, checked to be the very file it recorded: a rollback must not
   * start whatever now lies at that path.
   */
  static Path recordedJar(ExportRegistry.Row row) {
    if (row.jarPath() == null) {
      throw new CommandFailedException(
          "registry row #" + row.id() + " (" + row.action() + ") records no jar path");
    }
    Path jar = Path.of(row.jarPath());
    if (!Files.isRegularFile(jar)) {
      throw new CommandFailedException(
          "the jar of registry row #"
              + row.id()
              + " ("
              + row.jar()
              + ") is gone from "
              + jar
              + ": restore it there to roll back to it");
    }
    String label = jarLabel(jar);
    if (!label.equals(row.jar())) {
      throw new CommandFailedException(
          jar
              + " is no longer the jar registry row #"
              + row.id()
              + " started ("
              + row.jar()
              + ", now "
              + label
              + ")");
    }
    return jar;
  }

  /** The last successful start in the registry: the job that should be running. */
  ExportRegistry.Row current() {
    return registry
        .current()
        .orElseThrow(
            () ->
                new CommandFailedException(
                    "no job recorded in "
                        + registry.describe()
                        + ": start one with 'tenant-export job deploy'"));
  }

  /** The job's state, or {@code UNKNOWN} when the cluster does not know it (restarted). */
  String stateOf(String jobId) {
    try {
      return rest.jobState(jobId);
    } catch (CommandFailedException e) {
      if (e.getMessage().contains("HTTP 404")) {
        return "UNKNOWN";
      }
      throw e;
    }
  }

  /** Uploads {@code jar} and runs it (from {@code savepoint} unless null); the new job's id. */
  String start(Path jar, List<String> programArgs, String savepoint) {
    say(
        "starting "
            + jar.getFileName()
            + (savepoint == null ? " without state" : " from " + savepoint));
    String jarId = rest.uploadJar(jar);
    try {
      String jobId = rest.runJar(jarId, programArgs, savepoint);
      say("submitted job " + jobId);
      return jobId;
    } finally {
      try {
        // The job's classes went to the cluster's blob store with the job; the upload can go.
        rest.deleteJar(jarId);
      } catch (CommandFailedException e) {
        io.err().println("warning: could not delete uploaded jar: " + e.getMessage());
      }
    }
  }

  /**
   * Waits until the job and all its tasks run (or finished) and it has completed a checkpoint of
   * its own (after a restore, that proves its state was restored and its sinks commit). A job that
   * fails even once before that is not healthy, though its restart strategy may restart it: a jar
   * that fails right after it started (or on its first checkpoint) would otherwise restart until
   * the timeout, and one that only sometimes fails has not proven itself either.
   */
  void awaitHealthy(String jobId) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      String state = rest.jobState(jobId);
      if (FlinkRest.TERMINAL.contains(state)) {
        throw new CommandFailedException(
            "job " + jobId + " is " + state + ": " + rest.rootException(jobId));
      }
      List<String> failures = rest.failures(jobId);
      if (!failures.isEmpty()) {
        throw new CommandFailedException(
            "job "
                + jobId
                + " failed "
                + failures.size()
                + " time(s) after it started, before it ran with a completed checkpoint ("
                + progress(jobId)
                + ")");
      }
      if (state.equals("RUNNING") && rest.allRunning(jobId)) {
        JsonNode cp = rest.checkpoints(jobId);
        if (cp.path("counts").path("completed").asLong() >= 1) {
          say(
              "job "
                  + jobId
                  + " RUNNING, checkpoint "
                  + cp.path("latest").path("completed").path("id").asText()
                  + " completed");
          return;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new CommandFailedException(
            "job "
                + jobId
                + " did not run with a completed checkpoint within "
                + timeout.toSeconds()
                + "s ("
                + progress(jobId)
                + ")");
      }
      sleep();
    }
  }

  /** Where a job that is not healthy yet stands: tasks not running, checkpoints, exception. */
  private String progress(String jobId) {
    JsonNode detail = rest.job(jobId);
    StringBuilder sb = new StringBuilder("state " + detail.path("state").asText());
    for (JsonNode v : detail.path("vertices")) {
      if (!v.path("status").asText().matches("RUNNING|FINISHED")) {
        sb.append("; task '")
            .append(v.path("name").asText())
            .append("' ")
            .append(v.path("status").asText());
      }
    }
    JsonNode cp = rest.checkpoints(jobId);
    JsonNode counts = cp.path("counts");
    sb.append("; checkpoints completed ")
        .append(counts.path("completed").asLong())
        .append(", in progress ")
        .append(counts.path("in_progress").asLong())
        .append(", failed ")
        .append(counts.path("failed").asLong());
    JsonNode failed = cp.path("latest").path("failed");
    if (failed.isObject()) {
      sb.append(" (last: ").append(failed.path("failure_message").asText()).append(")");
    }
    String cause = rest.rootException(jobId);
    if (!cause.isEmpty()) {
      sb.append("; last exception: ").append(cause);
    }
    return sb.toString();
  }

  /** Stops the job with a savepoint; its location. */
  String stop(String jobId, String dir, boolean drain) {
    say("stopping job " + jobId + " with a savepoint" + (drain ? " (drain)" : ""));
    String trigger = rest.stopWithSavepoint(jobId, dir, drain);
    String location = awaitSavepoint(jobId, trigger);
    // The savepoint completes before the job's tasks have finished: wait for them, so that the
    // next job never runs beside this one (their sinks share transactional ids and files).
    long deadline = System.nanoTime() + timeout.toNanos();
    String state;
    while (!FlinkRest.TERMINAL.contains(state = rest.jobState(jobId))) {
      if (System.nanoTime() > deadline) {
        throw new CommandFailedException(
            "job "
                + jobId
                + " is still "
                + state
                + " "
                + timeout.toSeconds()
                + "s after its stop savepoint "
                + location);
      }
      sleep();
    }
    say("job " + jobId + " " + state);
    return location;
  }

  /** Takes a savepoint and leaves the job running; its location. */
  String savepoint(String jobId, String dir) {
    return awaitSavepoint(jobId, rest.triggerSavepoint(jobId, dir));
  }

  private String awaitSavepoint(String jobId, String trigger) {
    String location = rest.awaitSavepoint(jobId, trigger, timeout, POLL);
    say("savepoint " + location);
    return location;
  }

  /** Cancels a job that must not run on, and waits until it has stopped; never throws. */
  void cancelQuietly(String jobId) {
    try {
      if (FlinkRest.TERMINAL.contains(rest.jobState(jobId))) {
        return;
      }
      say("cancelling job " + jobId);
      rest.cancel(jobId);
      long deadline = System.nanoTime() + Math.min(timeout.toNanos(), 60_000_000_000L);
      while (!FlinkRest.TERMINAL.contains(rest.jobState(jobId)) && System.nanoTime() < deadline) {
        sleep();
      }
    } catch (CommandFailedException e) {
      io.err().println("warning: could not cancel job " + jobId + ": " + e.getMessage());
    }
  }

  /**
   * Appends {@code row} to the registry, then sends its {@code OPERATION} audit event; returns the
   * row's id. The registry comes first: it is what later commands read.
   */
  long record(ExportRegistry.Row row) {
    long id = registry.append(row);
    say("recorded #" + id + " " + row.action() + " " + row.outcome());
    Instant now = Instant.now();
    AuditEvent event =
        AuditEvent.newBuilder()
            .setEventId("operation/" + config.jobName() + "/" + id)
            .setType(AuditType.OPERATION)
            .setTenantId(null)
            .setExportVersion(
                row.exportVersion() == null ? config.spec().version() : row.exportVersion())
            .setJobVersion(row.jobVersion() == null ? config.jobVersion() : row.jobVersion())
            .setEventTime(now)
            .setEmittedAt(now)
            .setReason(
                row.action()
                    + " "
                    + row.outcome()
                    + (row.jobId() == null ? "" : ": job " + row.jobId())
                    + (row.jar() == null ? "" : ", jar " + row.jar())
                    + (row.savepointPath() == null ? "" : ", savepoint " + row.savepointPath())
                    + (row.detail() == null ? "" : "; " + row.detail()))
            .setOrigin("export_registry#" + id)
            .build();
    KafkaClients.requireSlf4j();
    try (KafkaProducer<byte[], byte[]> producer =
        KafkaClients.producer(config, "tenant-export-cli-operations")) {
      producer
          .send(new ProducerRecord<>(config.auditTopic(), null, AvroJson.toJson(event)))
          .get(KafkaClients.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new CommandFailedException(
          "registry row #"
              + id
              + " recorded, but its audit event was not sent to "
              + config.auditTopic()
              + " at "
              + config.bootstrapServers(),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandFailedException("interrupted while sending the audit event of #" + id, e);
    }
    return id;
  }

  /** A row about the job {@code jobId} runs from {@code started}'s jar. */
  static ExportRegistry.Row rowLike(
      ExportRegistry.Row started,
      String action,
      String jobId,
      String savepoint,
      String outcome,
      String detail) {
    return new ExportRegistry.Row(
        null,
        null,
        action,
        jobId,
        started.jar(),
        started.jarPath(),
        started.programArgs(),
        started.jobVersion(),
        started.exportVersion(),
        savepoint,
        outcome,
        detail);
  }

  /** A row about a job of {@code jar} started with this configuration. */
  ExportRegistry.Row row(
      String action,
      String jobId,
      Path jar,
      String label,
      List<String> programArgs,
      String savepoint,
      String outcome,
      String detail) {
    ExportRegistry.Row started =
        new ExportRegistry.Row(
            null,
            null,
            null,
            null,
            label,
            jar.toString(),
            programArgs,
            config.jobVersion(),
            config.spec().version(),
            null,
            null,
            null);
    return rowLike(started, action, jobId, savepoint, outcome, detail);
  }

  /**
   * As {@link #startAndRecord(Path, List, String, BiFunction)}, recording the {@link #row} of
   * {@code action} for this configuration, with the failure's message as its detail.
   */
  Start startAndRecord(
      String action, Path jar, String label, List<String> programArgs, String savepoint) {
    return startAndRecord(
        jar,
        programArgs,
        savepoint,
        (jobId, e) ->
            row(
                action,
                jobId,
                jar,
                label,
                programArgs,
                savepoint,
                e == null ? "ok" : "failed",
                e == null ? null : e.getMessage()));
  }

  /**
   * How {@link #startAndRecord} ended: the job it started (null when none was submitted), or why it
   * failed, and the registry row that records it.
   */
  record Start(String jobId, CommandFailedException failure, long rowId) {}

  /**
   * Starts {@code jar} from {@code savepoint}, waits until it is healthy and records the row {@code
   * rowOf} makes of the job id and the failure (null when it started). A job that started but
   * failed to become healthy is cancelled before the row is recorded; the failure is returned, not
   * thrown, so that the caller decides what follows.
   */
  Start startAndRecord(
      Path jar,
      List<String> programArgs,
      String savepoint,
      BiFunction<String, CommandFailedException, ExportRegistry.Row> rowOf) {
    String jobId = null;
    try {
      jobId = start(jar, programArgs, savepoint);
      awaitHealthy(jobId);
    } catch (CommandFailedException e) {
      if (jobId != null) {
        cancelQuietly(jobId);
      }
      return new Start(jobId, e, record(rowOf.apply(jobId, e)));
    }
    return new Start(jobId, null, record(rowOf.apply(jobId, null)));
  }

  /**
   * Whether the outputs of {@code upgraded} can be taken back by export version when {@code
   * previous} runs again: only when the upgraded job's export version is newer. With the same
   * version, its rows cannot be told apart from the previous jar's.
   */
  static boolean mustRetract(ExportRegistry.Row upgraded, ExportRegistry.Row previous) {
    return upgraded.exportVersion() != null
        && previous.exportVersion() != null
        && upgraded.exportVersion() > previous.exportVersion();
  }

  /**
   * Takes back what {@code upgraded} exported, after it has stopped and before {@code previous}
   * starts again from a savepoint taken before {@code upgraded} read anything: the previous jar
   * reads those changes again and exports them itself, so the upgraded job's outputs must go or
   * they would stay beside (lake) or above (warehouse: a row of an older export version never
   * replaces a newer one) the previous jar's.
   *
   * <p>When the upgraded job's export version is newer: its rollups move to {@code
   * tenant_export.metric_rollup_retracted} (one statement, marked {@code retractedBy}), then its
   * lake files to {@code <lake>/_retracted/export_version=<v>/} ({@link LakeRetraction}; a lake
   * that is not {@code file://} gets a warning saying what to move by hand); its receipts stay in
   * the append-only audit topic, and the returned detail (which the OPERATION event carries) names
   * the export version whose receipts to discard. Otherwise nothing can be told apart: a warning
   * says what is exported twice.
   *
   * @return what was retracted, for the registry row's detail; null when nothing was
   */
  String undoExports(ExportRegistry.Row upgraded, ExportRegistry.Row previous, String retractedBy) {
    if (!mustRetract(upgraded, previous)) {
      io.err()
          .println(
              "warning: job "
                  + upgraded.jobId()
                  + " (registry #"
                  + upgraded.id()
                  + ") exported with export version "
                  + upgraded.exportVersion()
                  + ", not newer than the previous jar's "
                  + previous.exportVersion()
                  + ": its outputs cannot be told apart and stay. The previous jar reads again"
                  + " what it read since savepoint "
                  + upgraded.savepointPath()
                  + ", so those rows are exported twice in the lake (warehouse rows and receipts"
                  + " are rewritten with the same keys and ids)");
      return null;
    }
    int version = upgraded.exportVersion();
    long rows = registry.retractRollups(version, retractedBy);
    say(
        "retracted "
            + rows
            + " warehouse row(s) of export version "
            + version
            + " into tenant_export.metric_rollup_retracted");
    String lake;
    if (LakeRetraction.supports(config.lakePath())) {
      LakeRetraction.Moved moved = LakeRetraction.retract(config.lakePath(), version);
      lake = moved.files() + " lake file(s) moved to " + moved.archive();
    } else {
      lake =
          "lake files not moved (only file:// lakes are): "
              + LakeRetraction.byHand(config.lakePath(), version);
      io.err().println("warning: " + lake);
    }
    say("retracted export version " + version + ": " + lake);
    return "retracted export version "
        + version
        + " ("
        + retractedBy
        + "): "
        + rows
        + " warehouse row(s) moved to tenant_export.metric_rollup_retracted, "
        + lake
        + "; discard its receipts (export_version "
        + version
        + ") in "
        + config.auditTopic();
  }

  void say(String line) {
    io.out().println(line);
  }

  private static void sleep() {
    try {
      Thread.sleep(POLL.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandFailedException("interrupted", e);
    }
  }
}
