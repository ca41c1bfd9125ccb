package io.tenantexport.jobs.cli;

import io.tenantexport.jobs.config.JobConfig;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A canary's namespace, derived from the live job's configuration and the canary's id so that
 * nothing it writes can land on a live output: its own consumer group and transactional ids, the
 * audit and quarantine topics {@code <topic>.shadow}, the lake prefix {@code
 * <lake>/_shadow/canary-<id>} (engines skip {@code _}-prefixed folders) and the shadow warehouse
 * schema. The canary's program arguments are the live job's followed by {@link #overrides()}; the
 * job configuration lets a later flag win, so the overrides always apply. {@link #of(
 * ExportRegistry.Row)} reads them back from the registry row that started the canary.
 *
 * @param id {@code yyyymmdd-hhmmss} (UTC) of the start
 * @param lakePath the shadow lake prefix, a URI under the live lake
 */
record CanaryRun(
    String id,
    List<String> tenants,
    String jobName,
    String groupId,
    String transactionalIdPrefix,
    String auditTopic,
    String quarantineTopic,
    String lakePath) {
  static final String SHADOW_SCHEMA = "tenant_export_shadow";
  static final String LIVE_SCHEMA = "tenant_export";
  static final String SHADOW_FOLDER = "_shadow";
  static final String VERSION_PREFIX = "canary-";

  private static final DateTimeFormatter ID =
      DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  /** The namespace of a canary of {@code live} for {@code tenants}, started at {@code now}. */
  static CanaryRun plan(JobConfig live, List<String> tenants, Instant now) {
    String id = ID.format(now);
    String suffix = "-canary-" + id;
    return new CanaryRun(
        id,
        List.copyOf(tenants),
        live.jobName() + suffix,
        live.groupId() + suffix,
        live.transactionalIdPrefix() + suffix,
        live.auditTopic() + ".shadow",
        live.quarantineTopic() + ".shadow",
        shadowRoot(live.lakePath()) + "/canary-" + id);
  }

  /** {@code <lake>/_shadow}: where every canary's lake prefix lies. */
  static String shadowRoot(String lakePath) {
    String lake = lakePath.endsWith("/") ? lakePath.substring(0, lakePath.length() - 1) : lakePath;
    return lake + "/" + SHADOW_FOLDER;
  }

  /**
   * The settings that make the live configuration a canary's. Offsets start at the earliest: the
   * canary recomputes the retained history of its tenants, so its windows can be compared with
   * every live window of that history.
   */
  List<String> overrides() {
    return List.of(
        "--job.name=" + jobName,
        "--job.version=" + VERSION_PREFIX + id,
        "--job.tenants=" + String.join(",", tenants),
        "--warehouse.schema=" + SHADOW_SCHEMA,
        "--lake.path=" + lakePath,
        "--kafka.group_id=" + groupId,
        "--kafka.transactional_id_prefix=" + transactionalIdPrefix,
        "--kafka.audit_topic=" + auditTopic,
        "--kafka.quarantine_topic=" + quarantineTopic,
        "--kafka.starting_offsets=earliest");
  }

  /** {@code base} followed by the overrides. */
  List<String> programArgs(List<String> base) {
    List<String> args = new ArrayList<>(base);
    args.addAll(overrides());
    return List.copyOf(args);
  }

  /** The canary a {@code canary} registry row started, read back from its program arguments. */
  static CanaryRun of(ExportRegistry.Row row) {
    List<String> args = row.programArgs() == null ? List.of() : row.programArgs();
    String version = setting(row, args, "job.version");
    if (!version.startsWith(VERSION_PREFIX)) {
      throw new CommandFailedException(
          "registry row #"
              + row.id()
              + " (canary) has job.version '"
              + version
              + "', not canary-…");
    }
    return new CanaryRun(
        version.substring(VERSION_PREFIX.length()),
        List.of(setting(row, args, "job.tenants").split(",")),
        setting(row, args, "job.name"),
        setting(row, args, "kafka.group_id"),
        setting(row, args, "kafka.transactional_id_prefix"),
        setting(row, args, "kafka.audit_topic"),
        setting(row, args, "kafka.quarantine_topic"),
        setting(row, args, "lake.path"));
  }

  /** The last value of {@code --key=value} in {@code args}, as the job configuration reads it. */
  private static String setting(ExportRegistry.Row row, List<String> args, String key) {
    String flag = "--" + key + "=";
    String value = null;
    for (String a : args) {
      if (a.startsWith(flag)) {
        value = a.substring(flag.length());
      }
    }
    if (value == null) {
      throw new CommandFailedException(
          "registry row #" + row.id() + " (" + row.action() + ") has no " + flag + "… argument");
    }
    return value;
  }

  /** The last successfully started canary, if any. */
  static Optional<ExportRegistry.Row> lastStarted(List<ExportRegistry.Row> rows) {
    ExportRegistry.Row found = null;
    for (ExportRegistry.Row r : rows) {
      if (r.action().equals("canary") && r.ok()) {
        found = r;
      }
    }
    return Optional.ofNullable(found);
  }
}
