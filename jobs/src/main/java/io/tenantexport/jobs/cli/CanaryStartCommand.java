package io.tenantexport.jobs.cli;

import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.jobs.config.JobConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * {@code canary start --jar <candidate> --tenants a,b [--<key>=<value> ...]}: runs a candidate jar
 * beside the live job for an allow-list of tenants, in a namespace of its own ({@link CanaryRun}):
 * the shadow warehouse schema, a lake prefix under {@code _shadow/}, {@code .shadow} audit and
 * quarantine topics, its own consumer group and transactional ids. It recomputes those tenants'
 * retained history from the earliest offsets, so that {@code reconcile} can compare its windows
 * with the live ones.
 *
 * <p>Before submitting: refuses while the last canary still runs (two canaries would write the same
 * shadow rows), deletes the shadow rows of its tenants and, on a {@code file:} lake, earlier
 * canaries' lake prefixes, and creates the shadow topics (as many partitions as the live ones). The
 * program arguments are the live job's (the registry's current row) plus the settings given here (a
 * candidate spec, say) plus the canary's namespace, which always wins. Records a {@code canary}
 * row, which never becomes the registry's current job ({@link ExportRegistry#STARTS}).
 */
final class CanaryStartCommand implements Command {
  static final String TENANTS = "--tenants";

  @Override
  public String name() {
    return "canary start";
  }

  @Override
  public String summary() {
    return "run a candidate jar for some tenants into the shadow namespace";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export canary start --rest <url> --config <job.yaml> --jar <candidate>
                                          --tenants <t1,t2,...> [--<key>=<value> ...]

        Runs the candidate jar with the live job's program arguments (the export registry's
        current job), the settings given here, and a namespace of its own: only the named
        tenants, warehouse schema tenant_export_shadow, lake <lake.path>/_shadow/canary-<id>,
        consumer group and transactional ids suffixed -canary-<id>, audit and quarantine
        topics <topic>.shadow, offsets from the earliest (it recomputes the retained history
        of those tenants; the job has no start-by-time setting outside a replay). Refuses
        while the last canary still runs. Clears the shadow rows of those tenants (and earlier
        canaries' lake prefixes when the lake is a file: path) and creates the shadow topics,
        waits until the canary runs with a completed checkpoint, and records a 'canary' row
        and an OPERATION audit event. Compare with 'tenant-export reconcile'; end it with
        'tenant-export canary stop'.

          --jar <file>          the candidate job jar
          --tenants <list>      comma-separated tenant ids the canary exports
        """
        + JobOperations.HELP;
  }

  @Override
  public Args.Spec arguments() {
    return JobOperations.arguments().value(JobOperations.JAR).value(TENANTS);
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    Path jar = JobOperations.existingJar(JobOperations.JAR, args.value(JobOperations.JAR));
    List<String> tenants = tenants(TENANTS, args.value(TENANTS));
    if (tenants == null) {
      throw new UsageException("missing " + TENANTS + " <t1,t2,...> (the tenants the canary runs)");
    }
    JobOperations ops = JobOperations.open(args, io);
    List<ExportRegistry.Row> registry = ops.registry.all();
    refuseRunningCanary(ops, registry);
    ExportRegistry.Row live =
        ExportRegistry.current(registry)
            .orElseThrow(
                () ->
                    new CommandFailedException(
                        "no live job recorded in "
                            + ops.registry.describe()
                            + ": a canary runs with the live job's arguments; deploy it first"));
    List<String> base = new ArrayList<>(live.programArgs());
    base.addAll(List.of(args.settings()));
    JobConfig baseConfig = load(base, io, "the live job's arguments (registry #" + live.id() + ")");
    CanaryRun canary = CanaryRun.plan(baseConfig, tenants, Instant.now());
    List<String> programArgs = canary.programArgs(base);
    JobConfig canaryConfig = load(programArgs, io, "the canary's arguments");

    CanaryWarehouse warehouse = warehouse(args, ops, io);
    int cleared = warehouse.clearShadow(tenants);
    ops.say(
        "cleared "
            + cleared
            + " row(s) of "
            + String.join(",", tenants)
            + " from "
            + CanaryRun.SHADOW_SCHEMA
            + ".metric_rollup");
    clearShadowLake(baseConfig.lakePath(), ops);
    createShadowTopics(baseConfig, canary, ops);

    String label = JobOperations.jarLabel(jar);
    String detail =
        "tenants "
            + String.join(",", tenants)
            + "; lake "
            + canary.lakePath()
            + "; group "
            + canary.groupId();
    JobOperations.Start started =
        ops.startAndRecord(
            jar,
            programArgs,
            null,
            (jobId, e) ->
                new ExportRegistry.Row(
                    null,
                    null,
                    "canary",
                    jobId,
                    label,
                    jar.toString(),
                    programArgs,
                    canaryConfig.jobVersion(),
                    canaryConfig.spec().version(),
                    null,
                    e == null ? "ok" : "failed",
                    e == null ? detail : e.getMessage()));
    if (started.failure() != null) {
      throw started.failure();
    }
    io.out()
        .println(
            "canary "
                + canary.id()
                + " runs "
                + label
                + " as job "
                + started.jobId()
                + " for "
                + String.join(",", tenants)
                + "; compare with 'tenant-export reconcile'");
    return TenantExportCli.OK;
  }

  /** A comma-separated list of valid tenant ids, or null when the option was not given. */
  static List<String> tenants(String option, String value) throws UsageException {
    if (value == null) {
      return null;
    }
    Set<String> tenants = new TreeSet<>();
    for (String t : value.split(",", -1)) {
      String problem = TenantId.problem(t.trim());
      if (problem != null) {
        throw new UsageException(
            option + " '" + value + "': tenant " + TenantId.describe(t.trim()) + " " + problem);
      }
      tenants.add(t.trim());
    }
    return List.copyOf(tenants);
  }

  /** The operator's connection, as the registry's: {@code --registry-user} or warehouse.user. */
  static CanaryWarehouse warehouse(Args args, JobOperations ops, Io io) {
    String user = args.value(JobOperations.REGISTRY_USER);
    return new CanaryWarehouse(
        ops.config.warehouseUrl(),
        user == null ? ops.config.warehouseUser() : user,
        io.env().get(JobConfig.PASSWORD_ENV));
  }

  private static void refuseRunningCanary(JobOperations ops, List<ExportRegistry.Row> registry) {
    Optional<ExportRegistry.Row> last = CanaryRun.lastStarted(registry);
    if (last.isPresent() && last.get().jobId() != null) {
      String state = ops.stateOf(last.get().jobId());
      if (!FlinkRest.TERMINAL.contains(state) && !state.equals("UNKNOWN")) {
        throw new CommandFailedException(
            "canary job "
                + last.get().jobId()
                + " (registry #"
                + last.get().id()
                + ") is "
                + state
                + " at "
                + ops.rest.url()
                + ": stop it first with 'tenant-export canary stop'");
      }
    }
  }

  /**
   * The configuration {@code programArgs} give the job ({@code --config <file>} then settings),
   * loaded as the job loads it: a canary the job would refuse is refused here, before anything.
   */
  static JobConfig load(List<String> programArgs, Io io, String what) {
    Path file = null;
    List<String> flags = new ArrayList<>();
    for (int i = 0; i < programArgs.size(); i++) {
      if (programArgs.get(i).equals(JobConfigs.CONFIG) && i + 1 < programArgs.size()) {
        file = Path.of(programArgs.get(++i));
      } else {
        flags.add(programArgs.get(i));
      }
    }
    try {
      return JobConfig.load(file, flags.toArray(String[]::new), io.env());
    } catch (RuntimeException e) {
      throw new CommandFailedException(
          what + " do not make a valid job configuration: " + e.getMessage(), e);
    }
  }

  /**
   * Removes earlier canaries' prefixes under {@code <lake>/_shadow} when the lake is a local (or
   * mounted) {@code file:} path; this canary's own prefix is new (its id). Other file systems are
   * the job's (Flink's) to reach, not the CLI's: their old prefixes are left, and said so.
   */
  private static void clearShadowLake(String lakePath, JobOperations ops) {
    URI root = URI.create(CanaryRun.shadowRoot(lakePath));
    if (!"file".equals(root.getScheme())) {
      ops.say(
          "left "
              + root
              + " as it is: the CLI clears only file: lakes (each canary writes under"
              + " its own canary-<id> prefix)");
      return;
    }
    Path dir = Path.of(root);
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (Stream<Path> prefixes = Files.list(dir)) {
      for (Path prefix :
          prefixes.filter(p -> p.getFileName().toString().startsWith("canary-")).toList()) {
        try (Stream<Path> all = Files.walk(prefix)) {
          for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
            Files.delete(p);
          }
        }
        ops.say("removed the earlier canary lake prefix " + prefix);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot clear the shadow lake " + dir, e);
    }
  }

  /** Creates the canary's audit and quarantine topics, as many partitions as the live ones. */
  private static void createShadowTopics(JobConfig live, CanaryRun canary, JobOperations ops) {
    KafkaClients.requireSlf4j();
    try (Admin admin = KafkaClients.admin(live, "tenant-export-cli-canary")) {
      Map<String, String> shadowOf =
          Map.of(
              live.auditTopic(), canary.auditTopic(),
              live.quarantineTopic(), canary.quarantineTopic());
      Map<String, Integer> existing =
          KafkaClients.partitionCounts(
              admin,
              Arrays.asList(
                  live.auditTopic(),
                  live.quarantineTopic(),
                  canary.auditTopic(),
                  canary.quarantineTopic()),
              live);
      List<NewTopic> create = new ArrayList<>();
      shadowOf.forEach(
          (liveTopic, shadowTopic) -> {
            if (!existing.containsKey(shadowTopic)) {
              create.add(
                  new NewTopic(
                      shadowTopic, Optional.ofNullable(existing.get(liveTopic)), Optional.empty()));
            }
          });
      if (create.isEmpty()) {
        return;
      }
      admin.createTopics(create).all().get(KafkaClients.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      ops.say("created " + create.stream().map(NewTopic::name).sorted().toList());
    } catch (ExecutionException e) {
      throw new CommandFailedException(
          "cannot create the shadow topics at " + live.bootstrapServers(), e.getCause());
    } catch (TimeoutException e) {
      throw new CommandFailedException(
          "Kafka at " + live.bootstrapServers() + " did not create the shadow topics in time", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandFailedException("interrupted", e);
    }
  }
}
