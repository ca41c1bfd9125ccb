package io.tenantexport.jobs.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.tenantexport.common.policy.PolicyException;
import io.tenantexport.common.policy.PolicyFolder;
import io.tenantexport.common.spec.Durations;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.tenant.TenantId;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The one validated, immutable configuration of the export job.
 *
 * <p>Built from a YAML file ({@code deploy/job.yaml}) overlaid by {@code --key=value} flags, using
 * dotted keys ({@code kafka.bootstrap_servers}). Every key is known: a typo is an error, not a
 * silently ignored setting. Secrets never come from files or flags: the warehouse password is read
 * from the environment variable {@value #PASSWORD_ENV} and never printed ({@link #toString()}
 * redacts it). Settings that decide correctness (exactly-once, transaction timeout, checkpointing)
 * are checked here, at start-up, rather than failing at the first checkpoint.
 */
public final class JobConfig implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final String PASSWORD_ENV = "TENANT_EXPORT_WAREHOUSE_PASSWORD";

  /**
   * Kafka brokers refuse transactions longer than their transaction.max.timeout.ms (15 min
   * default).
   */
  static final Duration MAX_TRANSACTION_TIMEOUT = Duration.ofMinutes(15);

  /**
   * Default of {@code job.cached_windows}: enough for the open windows of a thousand busy tenants
   * on two subtasks; a window of a few dozen cells is a few KB, so a few MB of heap.
   */
  public static final int DEFAULT_CACHED_WINDOWS = 1024;

  /** Known keys and their defaults (null: required). */
  private static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

  static {
    DEFAULTS.put("job.name", "tenant-export");
    DEFAULTS.put("job.version", JobVersion.current());
    DEFAULTS.put("job.parallelism", "2");
    DEFAULTS.put("job.max_parallelism", "128");
    DEFAULTS.put("job.checkpoint_interval", "10s");
    DEFAULTS.put("job.checkpoint_timeout", "4m");
    DEFAULTS.put("job.idle_timeout", "5m");
    DEFAULTS.put("job.orphan_timeout", "10m");
    DEFAULTS.put("job.cached_windows", Integer.toString(DEFAULT_CACHED_WINDOWS));
    DEFAULTS.put("job.export_version", "");
    DEFAULTS.put("job.tenants", "");
    DEFAULTS.put("spec", null);
    DEFAULTS.put("kafka.bootstrap_servers", null);
    DEFAULTS.put("kafka.topics", "");
    DEFAULTS.put("kafka.topic_pattern", "");
    DEFAULTS.put("kafka.group_id", "tenant-export");
    DEFAULTS.put("kafka.starting_offsets", "committed");
    DEFAULTS.put("kafka.bounded", "false");
    DEFAULTS.put("kafka.quarantine_topic", "tenant-export.quarantine");
    DEFAULTS.put("kafka.audit_topic", "tenant-export.audit");
    DEFAULTS.put("kafka.transactional_id_prefix", "tenant-export");
    DEFAULTS.put("kafka.transaction_timeout", "10m");
    DEFAULTS.put("kafka.idle_partition_timeout", "10s");
    DEFAULTS.put("lake.path", null);
    DEFAULTS.put("lake.target_file_size", "64mb");
    DEFAULTS.put("lake.max_file_age", "15m");
    DEFAULTS.put("lake.row_group_size", "16mb");
    DEFAULTS.put("warehouse.url", null);
    DEFAULTS.put("warehouse.user", null);
    DEFAULTS.put("warehouse.batch_size", "500");
    DEFAULTS.put("warehouse.batch_interval", "200ms");
    DEFAULTS.put("warehouse.schema", "tenant_export");
    DEFAULTS.put("policy.folder", null);
    DEFAULTS.put("policy.control_topic", "tenant-export.policies");
    DEFAULTS.put("keys.provider", "local");
    DEFAULTS.put("keys.keystore", "");
    DEFAULTS.put("keys.password_file", "");
    DEFAULTS.put("keys.quarantine_key", "q1");
    DEFAULTS.put("keys.event_id_key", "q1");
    DEFAULTS.put("replay.id", "");
    DEFAULTS.put("replay.from", "");
    DEFAULTS.put("replay.to", "");
  }

  /** Warehouse schemas the migrations create: the live tables and the canary's shadow copy. */
  public static final List<String> WAREHOUSE_SCHEMAS =
      List.of("tenant_export", "tenant_export_shadow");

  private static final Pattern BYTES = Pattern.compile("(\\d{1,12})(b|kb|mb|gb)");
  private static final Pattern REPLAY_ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,39}");

  /** Settings holding paths, resolved against the job file's folder when relative. */
  private static final List<String> PATH_KEYS =
      List.of("spec", "policy.folder", "keys.keystore", "keys.password_file");

  /** Where offsets start when the job has no checkpoint to resume from. */
  public enum StartingOffsets {
    EARLIEST,
    LATEST,
    /** The consumer group's committed offsets, else earliest. */
    COMMITTED
  }

  private final String jobName;
  private final String jobVersion;
  private final int parallelism;
  private final int maxParallelism;
  private final Duration checkpointInterval;
  private final Duration checkpointTimeout;
  private final Duration idleTimeout;
  private final int cachedWindows;
  private final Duration orphanTimeout;
  private final ExportSpec spec;
  private final String bootstrapServers;
  private final List<String> topics;
  private final String topicPattern;
  private final String groupId;
  private final StartingOffsets startingOffsets;
  private final boolean bounded;
  private final String quarantineTopic;
  private final String auditTopic;
  private final String transactionalIdPrefix;
  private final Duration transactionTimeout;
  private final Duration idlePartitionTimeout;
  private final String lakePath;
  private final long lakeTargetFileSize;
  private final Duration lakeMaxFileAge;
  private final long lakeRowGroupSize;
  private final String warehouseUrl;
  private final String warehouseUser;
  private final String warehousePassword;
  private final int warehouseBatchSize;
  private final Duration warehouseBatchInterval;
  private final String policyFolder;
  private final TreeMap<String, String> policyDocuments;
  private final String policyControlTopic;
  private final TreeMap<String, String> keyOptions;
  private final String quarantineKeyId;
  private final String eventIdKeyId;
  private final List<String> tenants;
  private final String warehouseSchema;
  private final String replayId;
  private final Instant replayFrom;
  private final Instant replayTo;

  private JobConfig(Values v, ExportSpec spec, String password) {
    this.jobName = v.text("job.name");
    this.jobVersion = v.text("job.version");
    this.parallelism = v.positiveInt("job.parallelism");
    this.maxParallelism = v.positiveInt("job.max_parallelism");
    this.checkpointInterval = v.duration("job.checkpoint_interval");
    this.checkpointTimeout = v.duration("job.checkpoint_timeout");
    this.idleTimeout = v.duration("job.idle_timeout");
    this.cachedWindows = v.positiveInt("job.cached_windows");
    this.orphanTimeout = v.duration("job.orphan_timeout");
    this.spec =
        v.raw("job.export_version").isEmpty()
            ? spec
            : spec.withVersion(v.positiveInt("job.export_version"));
    this.bootstrapServers = v.text("kafka.bootstrap_servers");
    this.topics = v.list("kafka.topics");
    this.topicPattern = v.raw("kafka.topic_pattern");
    this.groupId = v.text("kafka.group_id");
    this.startingOffsets = v.enumValue("kafka.starting_offsets", StartingOffsets.class);
    this.bounded = v.bool("kafka.bounded");
    this.quarantineTopic = v.text("kafka.quarantine_topic");
    this.auditTopic = v.text("kafka.audit_topic");
    this.transactionalIdPrefix = v.text("kafka.transactional_id_prefix");
    this.transactionTimeout = v.duration("kafka.transaction_timeout");
    this.idlePartitionTimeout = v.duration("kafka.idle_partition_timeout");
    this.lakePath = v.text("lake.path");
    this.lakeTargetFileSize = v.bytes("lake.target_file_size");
    this.lakeMaxFileAge = v.duration("lake.max_file_age");
    this.lakeRowGroupSize = v.bytes("lake.row_group_size");
    this.warehouseUrl = v.text("warehouse.url");
    this.warehouseUser = v.text("warehouse.user");
    this.warehousePassword = password == null ? "" : password;
    this.warehouseBatchSize = v.positiveInt("warehouse.batch_size");
    this.warehouseBatchInterval = v.duration("warehouse.batch_interval");
    this.policyFolder = v.text("policy.folder");
    this.policyControlTopic = v.text("policy.control_topic");
    this.keyOptions = new TreeMap<>();
    for (String k : List.of("keys.provider", "keys.keystore", "keys.password_file")) {
      if (!v.raw(k).isEmpty()) {
        keyOptions.put(k.substring("keys.".length()), v.raw(k));
      }
    }
    this.quarantineKeyId = v.text("keys.quarantine_key");
    this.eventIdKeyId = v.text("keys.event_id_key");
    this.tenants = v.list("job.tenants");
    for (String t : tenants) {
      if (!TenantId.isValid(t)) {
        throw v.error("job.tenants", TenantId.describe(t) + " " + TenantId.problem(t));
      }
    }
    this.warehouseSchema = v.text("warehouse.schema");
    if (!WAREHOUSE_SCHEMAS.contains(warehouseSchema)) {
      throw v.error("warehouse.schema", "must be one of " + WAREHOUSE_SCHEMAS);
    }
    this.replayId = v.raw("replay.id");
    this.replayFrom = v.instantOrNull("replay.from");
    this.replayTo = v.instantOrNull("replay.to");
    if (!replayId.isEmpty() || replayFrom != null || replayTo != null) {
      checkReplay(v);
    }
    if (keyOptions.get("provider").equals("local") && !keyOptions.containsKey("keystore")) {
      throw v.error("keys.keystore", "is required with keys.provider local");
    }
    // Lint the folder now: a bad policy stops the submission, not a running job.
    try {
      this.policyDocuments = new TreeMap<>(PolicyFolder.documents(Path.of(policyFolder)));
      PolicyFolder.load(Path.of(policyFolder), spec);
    } catch (IOException e) {
      throw v.error("policy.folder", "cannot read the policy folder: " + e.getMessage());
    } catch (PolicyException e) {
      throw v.error("policy.folder", e.getMessage());
    }

    if (maxParallelism < parallelism) {
      throw v.error(
          "job.max_parallelism", "must be at least job.parallelism (" + parallelism + ")");
    }
    if (topics.isEmpty() == topicPattern.isEmpty()) {
      throw v.error("kafka.topics", "set exactly one of kafka.topics and kafka.topic_pattern");
    }
    if (!topicPattern.isEmpty()) {
      Pattern p;
      try {
        p = Pattern.compile(topicPattern);
      } catch (PatternSyntaxException e) {
        throw v.error("kafka.topic_pattern", "not a regular expression: " + e.getDescription());
      }
      for (String own :
          List.of(
              v.text("kafka.audit_topic"),
              v.text("kafka.quarantine_topic"),
              v.text("policy.control_topic"))) {
        if (p.matcher(own).matches()) {
          // The job would read its own output back and quarantine it again, without end.
          throw v.error("kafka.topic_pattern", "matches the job's own topic " + own);
        }
      }
    }
    if (checkpointInterval.toMillis() < 100) {
      throw v.error(
          "job.checkpoint_interval",
          "must be at least 100ms: outputs only become visible on checkpoints");
    }
    if (transactionTimeout.compareTo(MAX_TRANSACTION_TIMEOUT) > 0) {
      throw v.error(
          "kafka.transaction_timeout",
          "exceeds the broker default transaction.max.timeout.ms ("
              + MAX_TRANSACTION_TIMEOUT.toMinutes()
              + "m); the audit and quarantine sinks would fail at start-up");
    }
    if (transactionTimeout.compareTo(checkpointInterval.plus(checkpointTimeout.multipliedBy(2)))
        < 0) {
      // A sink's transaction opens when one checkpoint passes it and commits when the next has
      // completed: up to an interval and two checkpoints later. Kafka aborts a transaction that
      // outlives its timeout, and Flink's committer then only logs an error and goes on: the
      // audit events and quarantined records in it are lost without the job failing (seen in
      // the benchmark, a 100,000-tenant drain's checkpoint against a 60 s timeout). A
      // checkpoint that runs past job.checkpoint_timeout fails the job instead (no failed
      // checkpoint is tolerated), which restarts from the last one and writes them again.
      throw v.error(
          "kafka.transaction_timeout",
          "must be at least job.checkpoint_interval + 2 × job.checkpoint_timeout ("
              + checkpointInterval
              + " + 2 × "
              + checkpointTimeout
              + "): a transaction stays open from one checkpoint until the next has completed,"
              + " and Kafka aborts one that outlives it, losing its records");
    }
    if (idlePartitionTimeout.toMillis() < 100) {
      throw v.error(
          "kafka.idle_partition_timeout",
          "must be at least 100ms: a partition between two fetches would count as idle");
    }
    if (quarantineTopic.equals(auditTopic)
        || policyControlTopic.equals(auditTopic)
        || policyControlTopic.equals(quarantineTopic)
        || topics.contains(quarantineTopic)
        || topics.contains(auditTopic)
        || topics.contains(policyControlTopic)) {
      throw v.error(
          "kafka.audit_topic",
          "the audit, quarantine, policy control and source topics must all differ");
    }
    if (!warehouseUrl.startsWith("jdbc:postgresql:")) {
      throw v.error("warehouse.url", "must be a jdbc:postgresql: URL");
    }
  }

  /**
   * A replay re-exports whole windows of named tenants from a bounded read: anything less would
   * overwrite a complete live window with part of it.
   */
  private void checkReplay(Values v) {
    if (!REPLAY_ID.matcher(replayId).matches()) {
      throw v.error("replay.id", "must match " + REPLAY_ID.pattern() + " when replaying");
    }
    if (replayFrom == null || replayTo == null) {
      throw v.error("replay.from", "a replay needs both replay.from and replay.to");
    }
    if (!replayFrom.isBefore(replayTo)) {
      throw v.error("replay.to", "must be after replay.from (" + replayFrom + ")");
    }
    for (String key : List.of("replay.from", "replay.to")) {
      Instant t = key.equals("replay.from") ? replayFrom : replayTo;
      if (spec.windowStart(t.toEpochMilli()) != t.toEpochMilli()) {
        throw v.error(
            key,
            "must be a window boundary (windows are " + spec.window() + ", from midnight UTC)");
      }
    }
    if (tenants.isEmpty()) {
      throw v.error("job.tenants", "a replay names the tenants it re-exports");
    }
    if (!bounded) {
      throw v.error("kafka.bounded", "must be true for a replay: it ends when its range is read");
    }
  }

  /**
   * Loads {@code file} (may be null) and overlays {@code flags} ({@code --key=value} or {@code
   * --key value}).
   */
  public static JobConfig load(Path file, String[] flags, Map<String, String> env) {
    Map<String, String> values = new LinkedHashMap<>();
    Map<String, String> origin = new LinkedHashMap<>();
    if (file != null) {
      readYaml(file, values, origin);
    }
    Path base = file == null ? null : file.toAbsolutePath().getParent();
    for (int i = 0; i < flags.length; i++) {
      String f = flags[i];
      if (!f.startsWith("--")) {
        throw new ConfigException("unexpected argument '" + f + "': settings are --key=value");
      }
      String kv = f.substring(2);
      String key;
      String value;
      int eq = kv.indexOf('=');
      if (eq >= 0) {
        key = kv.substring(0, eq);
        value = kv.substring(eq + 1);
      } else if (i + 1 < flags.length) {
        key = kv;
        value = flags[++i];
      } else {
        throw new ConfigException("flag --" + kv + " has no value");
      }
      values.put(key, value);
      origin.put(key, "flag --" + key);
    }
    // A relative path in the file is relative to the file, as a reader of the file expects.
    for (String key : PATH_KEYS) {
      if (base != null
          && values.containsKey(key)
          && !values.get(key).isBlank()
          && origin.get(key).startsWith("file")
          && !Path.of(values.get(key)).isAbsolute()) {
        values.put(key, base.resolve(values.get(key)).normalize().toString());
      }
    }
    return fromMap(values, origin, env.get(PASSWORD_ENV));
  }

  /**
   * Builds a config from dotted keys, as tests and the local run do; {@code origin} may be empty.
   */
  public static JobConfig fromMap(
      Map<String, String> values, Map<String, String> origin, String password) {
    Values v = new Values(values, origin);
    String specPath = v.text("spec");
    ExportSpec spec = ExportSpec.load(Path.of(specPath));
    return new JobConfig(v, spec, password);
  }

  /** Builds a config whose spec is given directly (tests, the local run). */
  public static JobConfig fromMap(Map<String, String> values, ExportSpec spec, String password) {
    Map<String, String> withSpec = new LinkedHashMap<>(values);
    withSpec.putIfAbsent("spec", spec.source());
    return new JobConfig(new Values(withSpec, Map.of()), spec, password);
  }

  private static void readYaml(Path file, Map<String, String> values, Map<String, String> origin) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(file));
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read job configuration: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new ConfigException(file + ": expected a YAML mapping");
    }
    flatten("", root, file, values, origin);
  }

  private static void flatten(
      String prefix,
      JsonNode node,
      Path file,
      Map<String, String> values,
      Map<String, String> origin) {
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = prefix + e.getKey();
      JsonNode v = e.getValue();
      if (v.isObject()) {
        flatten(key + ".", v, file, values, origin);
        continue;
      }
      String text;
      if (v.isArray()) {
        List<String> items = new ArrayList<>();
        v.forEach(x -> items.add(x.asText()));
        text = String.join(",", items);
      } else {
        text = v.isNull() ? "" : v.asText();
      }
      values.put(key, text);
      origin.put(key, "file " + file);
    }
  }

  /** Typed reads of the raw values with errors that name key, value and origin. */
  private static final class Values {
    private final Map<String, String> values;
    private final Map<String, String> origin;

    Values(Map<String, String> values, Map<String, String> origin) {
      this.values = values;
      this.origin = origin;
      for (String key : values.keySet()) {
        if (!DEFAULTS.containsKey(key)) {
          throw new ConfigException(
              "unknown setting '"
                  + key
                  + "' ("
                  + where(key)
                  + "); known settings: "
                  + String.join(", ", DEFAULTS.keySet()));
        }
      }
    }

    String where(String key) {
      return origin.getOrDefault(key, values.containsKey(key) ? "given" : "default");
    }

    ConfigException error(String key, String problem) {
      String value = values.containsKey(key) ? values.get(key) : DEFAULTS.get(key);
      return new ConfigException(key + " = '" + value + "' (" + where(key) + "): " + problem);
    }

    String raw(String key) {
      String v = values.get(key);
      if (v == null) {
        v = DEFAULTS.get(key);
      }
      return v == null ? "" : v.trim();
    }

    String text(String key) {
      String v = raw(key);
      if (v.isEmpty()) {
        throw new ConfigException(
            key + " is required (set it in the job file or with --" + key + "=...)");
      }
      return v;
    }

    int positiveInt(String key) {
      try {
        int n = Integer.parseInt(text(key));
        if (n > 0) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below with the key and value
      }
      throw error(key, "must be a positive integer");
    }

    boolean bool(String key) {
      String v = text(key);
      if (v.equals("true") || v.equals("false")) {
        return Boolean.parseBoolean(v);
      }
      throw error(key, "must be true or false");
    }

    Duration duration(String key) {
      Duration d = Durations.parseOrNull(text(key));
      if (d == null || d.isZero()) {
        throw error(key, "must be a positive duration like 500ms, 30s, 5m, 2h or 7d");
      }
      return d;
    }

    long bytes(String key) {
      Matcher m = BYTES.matcher(text(key).toLowerCase(Locale.ROOT));
      if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
        throw error(key, "must be a positive size like 512kb, 64mb or 1gb");
      }
      long unit =
          switch (m.group(2)) {
            case "kb" -> 1L << 10;
            case "mb" -> 1L << 20;
            case "gb" -> 1L << 30;
            default -> 1L;
          };
      return Math.multiplyExact(Long.parseLong(m.group(1)), unit);
    }

    Instant instantOrNull(String key) {
      String v = raw(key);
      if (v.isEmpty()) {
        return null;
      }
      try {
        return Instant.parse(v);
      } catch (DateTimeParseException e) {
        throw error(key, "'" + v + "' is not an ISO-8601 instant like 2026-11-26T10:00:00Z");
      }
    }

    List<String> list(String key) {
      String v = raw(key);
      if (v.isEmpty()) {
        return List.of();
      }
      return List.copyOf(
          Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList());
    }

    <E extends Enum<E>> E enumValue(String key, Class<E> type) {
      String v = text(key);
      for (E e : type.getEnumConstants()) {
        if (e.name().equalsIgnoreCase(v)) {
          return e;
        }
      }
      throw error(key, "must be one of " + Arrays.toString(type.getEnumConstants()).toLowerCase());
    }
  }

  /** Tenants this job exports; empty: every tenant (a canary or a replay names some). */
  public List<String> tenants() {
    return tenants;
  }

  /** Schema of the rollup table the job upserts into: live, or the canary's shadow. */
  public String warehouseSchema() {
    return warehouseSchema;
  }

  /** True for a single-tenant replay job ({@code replay.*}). */
  public boolean isReplay() {
    return !replayId.isEmpty();
  }

  /** The replay's id, stamped on its audit events; "" when this is not a replay. */
  public String replayId() {
    return replayId;
  }

  /** Start of the replayed event-time range (a window boundary), or null. */
  public Instant replayFrom() {
    return replayFrom;
  }

  /** End (exclusive) of the replayed event-time range (a window boundary), or null. */
  public Instant replayTo() {
    return replayTo;
  }

  public String jobName() {
    return jobName;
  }

  public String jobVersion() {
    return jobVersion;
  }

  public int parallelism() {
    return parallelism;
  }

  public int maxParallelism() {
    return maxParallelism;
  }

  public Duration checkpointInterval() {
    return checkpointInterval;
  }

  /**
   * A checkpoint still running after this fails, and with it the job: longer, and the sinks' Kafka
   * transactions could outlive {@link #transactionTimeout}.
   */
  public Duration checkpointTimeout() {
    return checkpointTimeout;
  }

  /** A tenant with no change for this long (processing time) has its open windows flushed. */
  public Duration idleTimeout() {
    return idleTimeout;
  }

  /**
   * Open windows each window subtask keeps deserialized between checkpoints (those of the tenants
   * that changed last); the window operator's heap grows with it times the cells per window.
   */
  public int cachedWindows() {
    return cachedWindows;
  }

  /**
   * How long a change that names no tenant waits for its row to be attributed before quarantine.
   */
  public Duration orphanTimeout() {
    return orphanTimeout;
  }

  public ExportSpec spec() {
    return spec;
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  public List<String> topics() {
    return topics;
  }

  public String topicPattern() {
    return topicPattern;
  }

  public String groupId() {
    return groupId;
  }

  public StartingOffsets startingOffsets() {
    return startingOffsets;
  }

  /** Stop at the offsets that are the end when the job starts (tests, backfills). */
  public boolean bounded() {
    return bounded;
  }

  public String quarantineTopic() {
    return quarantineTopic;
  }

  public String auditTopic() {
    return auditTopic;
  }

  public String transactionalIdPrefix() {
    return transactionalIdPrefix;
  }

  public Duration transactionTimeout() {
    return transactionTimeout;
  }

  /**
   * A source partition without new records for this long stops holding back the windows of every
   * tenant (they wait for the slowest partition still being read); in a live job, a window whose
   * closing waits on a quiet partition closes at most this much later.
   */
  public Duration idlePartitionTimeout() {
    return idlePartitionTimeout;
  }

  /**
   * A lake bucket's buffered rows are written as a file once they reach this many (estimated,
   * uncompressed) bytes: busy tenants' files roll on size.
   */
  public long lakeTargetFileSize() {
    return lakeTargetFileSize;
  }

  /**
   * The lake's freshness: no row waits longer than this (processing time) before it is written to a
   * file, which becomes visible with the next completed checkpoint. Quiet tenants' files roll on
   * it, so it also bounds their number: at most one file per tenant and day partition per age.
   */
  public Duration lakeMaxFileAge() {
    return lakeMaxFileAge;
  }

  /** Parquet row group size: bounds the one open lake file's buffered data per subtask. */
  public long lakeRowGroupSize() {
    return lakeRowGroupSize;
  }

  public String lakePath() {
    return lakePath;
  }

  public String warehouseUrl() {
    return warehouseUrl;
  }

  public String warehouseUser() {
    return warehouseUser;
  }

  /** From the environment only; never logged. */
  public String warehousePassword() {
    return warehousePassword;
  }

  public int warehouseBatchSize() {
    return warehouseBatchSize;
  }

  public Duration warehouseBatchInterval() {
    return warehouseBatchInterval;
  }

  /** The policy folder the job was submitted with. */
  public String policyFolder() {
    return policyFolder;
  }

  /** The policy folder's documents by tenant (file stem), validated against the spec. */
  public Map<String, String> policyDocuments() {
    return Collections.unmodifiableMap(policyDocuments);
  }

  /** Topic of policy updates: key = tenant id, value = policy document. */
  public String policyControlTopic() {
    return policyControlTopic;
  }

  /** The {@code keys.*} settings without the prefix: a provider and where its keys are. */
  public Map<String, String> keyOptions() {
    return Collections.unmodifiableMap(keyOptions);
  }

  /** Id of the key that seals quarantined payloads. */
  public String quarantineKeyId() {
    return quarantineKeyId;
  }

  /**
   * Id of the key (in the quarantine key ring) that event ids digest row images with. Changing it
   * changes every event id: keep it for the life of an export version.
   */
  public String eventIdKeyId() {
    return eventIdKeyId;
  }

  /** Every setting with its value, the password redacted: safe to log at start-up. */
  @Override
  public String toString() {
    Map<String, Object> m = new TreeMap<>();
    m.put("job.name", jobName);
    m.put("job.version", jobVersion);
    m.put("job.parallelism", parallelism);
    m.put("job.max_parallelism", maxParallelism);
    m.put("job.checkpoint_interval", checkpointInterval);
    m.put("job.checkpoint_timeout", checkpointTimeout);
    m.put("job.idle_timeout", idleTimeout);
    m.put("job.cached_windows", cachedWindows);
    m.put("job.orphan_timeout", orphanTimeout);
    m.put("spec", spec.source() + " (version " + spec.version() + ")");
    m.put("kafka.bootstrap_servers", bootstrapServers);
    m.put("kafka.topics", topics);
    m.put("kafka.topic_pattern", topicPattern);
    m.put("kafka.group_id", groupId);
    m.put("kafka.starting_offsets", startingOffsets);
    m.put("kafka.bounded", bounded);
    m.put("kafka.quarantine_topic", quarantineTopic);
    m.put("kafka.audit_topic", auditTopic);
    m.put("kafka.transactional_id_prefix", transactionalIdPrefix);
    m.put("kafka.transaction_timeout", transactionTimeout);
    m.put("kafka.idle_partition_timeout", idlePartitionTimeout);
    m.put("lake.path", lakePath);
    m.put("warehouse.url", warehouseUrl);
    m.put("warehouse.user", warehouseUser);
    m.put("warehouse.password", warehousePassword.isEmpty() ? "(not set)" : "(set, redacted)");
    m.put("warehouse.batch_size", warehouseBatchSize);
    m.put("warehouse.batch_interval", warehouseBatchInterval);
    m.put("policy.folder", policyFolder + " (" + policyDocuments.size() + " tenants)");
    m.put("policy.control_topic", policyControlTopic);
    keyOptions.forEach((k, val) -> m.put("keys." + k, val));
    m.put("keys.quarantine_key", quarantineKeyId);
    m.put("keys.event_id_key", eventIdKeyId);
    return "JobConfig" + m;
  }
}
