package io.tenantexport.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.tenantexport.jobs.config.ConfigException;
import io.tenantexport.jobs.config.JobConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code replay --tenant T --from <time> [--to <time>]}: re-exports one tenant's windows [from, to)
 * from the CDC topics with a bounded job beside the running live job, and puts its outputs in place
 * of the live ones without doubling anything and without touching another tenant.
 *
 * <ol>
 *   <li>Checks the arguments ({@link ReplayRange}: window boundaries, a range that ended long
 *       enough ago), that the registry's current job runs, and that its lake is on a local file
 *       system ({@link LakeSwap#localLake}). The replay's export version R is one above every
 *       export version in the registry and the warehouse ({@link
 *       ReplayWarehouse#nextExportVersion}); its id is {@code r<R>-<UTC time>}.
 *   <li>Waits until the live job's consumer group has committed, on every source partition, the
 *       offset the replay stops at ({@link ReplayOffsets}), then until one more checkpoint of the
 *       live job completes: every live lake row of what the replay reads is then in a committed
 *       file, so the live job never writes one of them after the swap.
 *   <li>Runs the current job's jar (or {@code --jar}) with the current job's arguments plus {@code
 *       --job.tenants=T --replay.id/from/to --job.export_version=R --kafka.bounded=true}, no idle
 *       flush ({@link #REPLAY_IDLE_TIMEOUT}), its own consumer group and transactional id prefix
 *       ({@code <live>-replay-<id>}) and {@code --lake.path=<lake>/_staging/replay-<id>}, without
 *       state, and waits until it has FINISHED. It writes T's lake rows of the range to the staging
 *       folder, T's rollups of the windows wholly inside the range to the live table with export
 *       version R (replacing the live rows through the guarded upsert), and receipts that carry its
 *       {@code replay_id}.
 *   <li>Swaps the lake ({@link LakeSwap}): live rows whose event ids the replay wrote are taken out
 *       of T's live files, then the staged files are moved in. After the live job's next
 *       checkpoint, one catch-up pass does the same for any live file committed in the meantime.
 *   <li>Retracts T's live rollups of the replayed windows that the replay did not rewrite ({@link
 *       ReplayWarehouse#retractStale}).
 *   <li>Records a {@code replay} row with export version R (ok or failed, with counts) and its
 *       {@code OPERATION} audit event.
 * </ol>
 *
 * <p>A failure before the swap leaves the live lake untouched (the staged files stay for
 * inspection); rollups a failed replay job wrote are complete windows of export version R, and a
 * new replay (R + 1) rewrites them.
 */
final class ReplayCommand implements Command {
  static final String TENANT = "--tenant";
  static final String FROM = "--from";
  static final String TO = "--to";

  /** Longer than any replay runs: in effect, no idle flush. */
  static final String REPLAY_IDLE_TIMEOUT = "30d";

  private static final DateTimeFormatter ID_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd't'HHmmss").withZone(ZoneOffset.UTC);

  @Override
  public String name() {
    return "replay";
  }

  @Override
  public String summary() {
    return "re-export one tenant's windows [from, to) beside the live job, without doubling";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export replay --tenant <id> --from <time> [--to <time>] --rest <url>
                                    --config <job.yaml> --registry-user <login> [--jar <job jar>]
                                    [--timeout <duration>] [--<key>=<value> ...]

        Re-exports tenant <id>'s changes with event times in [--from, --to) with a bounded job
        beside the running live job, then replaces the tenant's live lake rows and rollups of
        that range with the replay's: nothing doubled, no other tenant's file or row touched.

          --tenant <id>         the tenant to replay
          --from <time>         start of the range, an ISO-8601 instant on a window boundary
                                (windows are aligned to midnight UTC), e.g. 2026-11-26T10:00:00Z
          --to <time>           end of the range (exclusive), a window boundary; default and
                                latest: the last boundary allowed_lateness + max_event_time_ahead
                                + one checkpoint interval before now, when every on-time change
                                of the range is in Kafka and read by the live job
          --jar <file>          the job jar to run (default: the current job's, from the registry)

        Steps: wait until the live job has committed everything the replay reads; run the
        replay job (its own consumer group and transactional ids, export version one above any
        recorded, lake files staged under <lake>/_staging/replay-<id>) until it finishes; take
        the replayed rows out of the tenant's live files (originals kept under
        <lake>/_replaced/replay-<id>) and move the staged files in; move the tenant's live
        rollups of the replayed windows that the replay did not rewrite to
        tenant_export.metric_rollup_retracted. Records a 'replay' row in the export registry and
        an OPERATION audit event. --timeout bounds each wait. The lake must be on a local (or
        mounted) file system.
        """
        + JobOperations.HELP;
  }

  @Override
  public Args.Spec arguments() {
    return JobOperations.arguments().value(TENANT).value(FROM).value(TO).value(JobOperations.JAR);
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    String tenant = ReplayRange.tenant(TENANT, args.value(TENANT));
    if (args.value(FROM) == null) {
      throw new UsageException("missing " + FROM + " <ISO-8601 instant on a window boundary>");
    }
    Instant from = ReplayRange.instant(FROM, args.value(FROM));
    Instant to = args.value(TO) == null ? null : ReplayRange.instant(TO, args.value(TO));
    Path jarOption =
        args.value(JobOperations.JAR) == null
            ? null
            : JobOperations.existingJar(JobOperations.JAR, args.value(JobOperations.JAR));
    JobOperations ops = JobOperations.open(args, io);

    ExportRegistry.Row current = ops.current();
    JobConfig live = liveConfig(current, io.env());
    ReplayRange range =
        ReplayRange.of(live.spec(), live.checkpointInterval(), tenant, from, to, Instant.now());
    Path lake = LakeSwap.localLake(live.lakePath());
    String state = ops.stateOf(current.jobId());
    if (!state.equals("RUNNING")) {
      throw new CommandFailedException(
          "the current job "
              + current.jobId()
              + " (registry #"
              + current.id()
              + ") is "
              + state
              + ", not RUNNING: a replay runs beside the live job, which must have read what the"
              + " replay reads");
    }
    Path jar = jarOption != null ? jarOption : JobOperations.recordedJar(current);
    String label = JobOperations.jarLabel(jar);
    String registryUser =
        args.value(JobOperations.REGISTRY_USER) == null
            ? ops.config.warehouseUser()
            : args.value(JobOperations.REGISTRY_USER);
    ReplayWarehouse warehouse =
        new ReplayWarehouse(
            ops.config.warehouseUrl(), registryUser, io.env().get(JobConfig.PASSWORD_ENV));
    int version =
        ReplayWarehouse.nextExportVersion(
            ops.registry.all(), warehouse.maxExportVersion(), live.spec().version());
    String id = replayId(version, Instant.now());
    List<String> programArgs = programArgs(current.programArgs(), live, range, id, version, lake);
    ops.say("replay " + id + " of " + range + " as export version " + version);

    String jobId = null;
    String done = "nothing replayed; live lake untouched";
    try {
      awaitLiveCommitted(ops, live, current.jobId(), range);
      Instant committed = Instant.now();
      jobId = ops.start(jar, programArgs, null);
      awaitFinished(ops, jobId);
      done = "replay job finished; live lake untouched";
      awaitLiveBuffersWritten(ops, live, current.jobId(), committed);
      LakeSwap swap = new LakeSwap(lake, range, id, version, ops::say);
      LakeSwap.Staged staged = swap.staged();
      done = "lake swap started";
      LakeSwap.Outcome lakeOutcome = swap.swap(staged);
      done = "lake: " + lakeOutcome;
      awaitNextCheckpoint(ops, current.jobId());
      LakeSwap.Outcome catchUp = swap.retract(staged.eventIds());
      done += "; catch-up pass: " + catchUp.retracted() + " more live rows taken out";
      int retracted = warehouse.retractStale(range, version, "replay #" + id);
      done +=
          "; warehouse: "
              + retracted
              + " stale rollups of export versions below "
              + version
              + " moved to metric_rollup_retracted";
    } catch (CommandFailedException e) {
      ops.record(row(current, jobId, label, jar, programArgs, version, "failed", e.getMessage()));
      throw new CommandFailedException(
          "replay " + id + " of " + range + " failed (" + done + "): " + e.getMessage(), e);
    }
    String detail = "replay " + id + " of " + range + ": " + done;
    ops.record(row(current, jobId, label, jar, programArgs, version, "ok", detail));
    io.out().println("replayed " + range + " as export version " + version + " (" + id + ")");
    return TenantExportCli.OK;
  }

  /**
   * The live job's configuration, loaded from the arguments the registry recorded for it: the
   * replay reads its topics, waits for its consumer group and shares its lake.
   */
  static JobConfig liveConfig(ExportRegistry.Row current, Map<String, String> env) {
    List<String> recorded = current.programArgs() == null ? List.of() : current.programArgs();
    Path file = null;
    List<String> flags = new ArrayList<>();
    for (int i = 0; i < recorded.size(); i++) {
      if (recorded.get(i).equals(JobConfigs.CONFIG) && i + 1 < recorded.size()) {
        file = Path.of(recorded.get(++i));
      } else {
        flags.add(recorded.get(i));
      }
    }
    try {
      return JobConfig.load(file, flags.toArray(String[]::new), env);
    } catch (ConfigException e) {
      throw new CommandFailedException(
          "the arguments registry row #"
              + current.id()
              + " started the current job with do not load: "
              + e.getMessage(),
          e);
    }
  }

  /** {@code r<R>-<UTC yyyymmddthhmmss>}: unique, as R is never used twice, and readable. */
  static String replayId(int exportVersion, Instant now) {
    return "r" + exportVersion + "-" + ID_TIME.format(now);
  }

  /**
   * The replay job's program arguments: the live job's, then the replay's settings (later flags win
   * in {@code JobConfig.load}).
   */
  static List<String> programArgs(
      List<String> liveArgs,
      JobConfig live,
      ReplayRange range,
      String id,
      int exportVersion,
      Path lake) {
    List<String> a = new ArrayList<>(liveArgs == null ? List.of() : liveArgs);
    a.add("--job.name=" + live.jobName() + "-replay-" + id);
    a.add("--job.tenants=" + range.tenant());
    a.add("--job.export_version=" + exportVersion);
    a.add("--replay.id=" + id);
    a.add("--replay.from=" + range.from());
    a.add("--replay.to=" + range.to());
    a.add("--kafka.bounded=true");
    // Windows close by the replay's own tenant clock or at the end of its input. An idle flush
    // (processing time) means nothing while a backlog is read, and would write part of a window
    // that its later changes then overwrite with another part.
    a.add("--job.idle_timeout=" + REPLAY_IDLE_TIMEOUT);
    // Its own offsets and Kafka transactions: it must neither move the live job's committed
    // offsets nor fence the live job's transactional producers.
    a.add("--kafka.group_id=" + live.groupId() + "-replay-" + id);
    a.add("--kafka.transactional_id_prefix=" + live.transactionalIdPrefix() + "-replay-" + id);
    a.add("--lake.path=" + LakeSwap.staging(lake, id).toUri());
    return a;
  }

  private static ExportRegistry.Row row(
      ExportRegistry.Row current,
      String jobId,
      String label,
      Path jar,
      List<String> programArgs,
      int exportVersion,
      String outcome,
      String detail) {
    return new ExportRegistry.Row(
        null,
        null,
        "replay",
        jobId,
        label,
        jar.toString(),
        programArgs,
        current.jobVersion(),
        exportVersion,
        null,
        outcome,
        detail);
  }

  /** Step 2: the live job has committed what the replay reads, and one more checkpoint. */
  private static void awaitLiveCommitted(
      JobOperations ops, JobConfig live, String liveJobId, ReplayRange range) {
    Instant readEnd = range.readEnd(live.spec());
    KafkaClients.requireSlf4j();
    try (Admin admin = KafkaClients.admin(live, "tenant-export-cli-replay")) {
      List<TopicPartition> partitions = ReplayOffsets.partitions(admin, live);
      Map<TopicPartition, Long> stop = ReplayOffsets.stopOffsets(admin, live, partitions, readEnd);
      Map<TopicPartition, Long> start = ReplayOffsets.startOffsets(admin, live, partitions);
      ops.say(
          "waiting until the live job has committed "
              + partitions.size()
              + " source partitions up to the records stamped "
              + readEnd);
      ReplayOffsets.awaitCommitted(admin, live, stop, start, ops.timeout);
    }
    awaitNextCheckpoint(ops, liveJobId);
  }

  /**
   * The live job keeps a bucket's rows in state up to {@code lake.max_file_age} before it writes
   * them ({@code LakeFileBuffer}): a row of the range it read before {@code committed} may still be
   * waiting. Once that age has passed since {@code committed} and one more checkpoint completed,
   * every such row is in a committed file, where the swap can take it out; a row written later
   * would double the replayed one.
   */
  private static void awaitLiveBuffersWritten(
      JobOperations ops, JobConfig live, String liveJobId, Instant committed) {
    Duration left = Duration.between(Instant.now(), committed.plus(live.lakeMaxFileAge()));
    if (!left.isNegative()) {
      ops.say(
          "waiting "
              + left.toSeconds()
              + "s more: the live job writes buffered lake rows after lake.max_file_age ("
              + live.lakeMaxFileAge()
              + ")");
      try {
        Thread.sleep(left.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CommandFailedException("interrupted while waiting for the live job's lake rows");
      }
    }
    awaitNextCheckpoint(ops, liveJobId);
  }

  /**
   * Waits until the live job completes a checkpoint after now: the lake files of everything read
   * before it are then committed.
   */
  private static void awaitNextCheckpoint(JobOperations ops, String liveJobId) {
    long seen = latestCompleted(ops, liveJobId);
    long deadline = System.nanoTime() + ops.timeout.toNanos();
    while (true) {
      long latest = latestCompleted(ops, liveJobId);
      if (latest > seen) {
        ops.say("live job " + liveJobId + " completed checkpoint " + latest);
        return;
      }
      String state = ops.rest.jobState(liveJobId);
      if (!state.equals("RUNNING") || System.nanoTime() > deadline) {
        throw new CommandFailedException(
            "the live job "
                + liveJobId
                + " ("
                + state
                + ") completed no checkpoint after "
                + seen
                + " within "
                + ops.timeout.toSeconds()
                + "s");
      }
      ReplayOffsets.sleep();
    }
  }

  private static long latestCompleted(JobOperations ops, String jobId) {
    JsonNode cp = ops.rest.checkpoints(jobId);
    return cp.path("latest").path("completed").path("id").asLong(-1);
  }

  /**
   * Step 3: the bounded replay job has FINISHED; cancelled when it takes longer than the timeout.
   */
  private static void awaitFinished(JobOperations ops, String jobId) {
    long deadline = System.nanoTime() + ops.timeout.toNanos();
    while (true) {
      String state = ops.rest.jobState(jobId);
      if (state.equals("FINISHED")) {
        ops.say("replay job " + jobId + " FINISHED");
        return;
      }
      if (FlinkRest.TERMINAL.contains(state)) {
        throw new CommandFailedException(
            "replay job " + jobId + " is " + state + ": " + ops.rest.rootException(jobId));
      }
      if (System.nanoTime() > deadline) {
        ops.cancelQuietly(jobId);
        throw new CommandFailedException(
            "replay job "
                + jobId
                + " did not finish within "
                + ops.timeout.toSeconds()
                + "s and was cancelled");
      }
      ReplayOffsets.sleep();
    }
  }
}
