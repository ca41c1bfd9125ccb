package io.tenantexport.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.common.cdc.QuarantineReason;
import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.common.keys.KeyNotFoundException;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.keys.KeyProviders;
import io.tenantexport.common.keys.QuarantineCipher;
import io.tenantexport.common.keys.SealedPayloadException;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.operators.Quarantines;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * {@code quarantine replay --config <job.yaml> [--tenant T ...] [--reason CODE ...] [--origin-topic
 * TOPIC ...] [--dry-run] [--limit N]}: re-injects quarantined records into the topics they came
 * from, once the cause is fixed (a policy published, a producer bug corrected).
 *
 * <p>How: reads the quarantine topic ({@code kafka.quarantine_topic}) from its beginning to its
 * current end with {@code isolation.level=read_committed}, so only records of committed job
 * transactions count; selects records by the filters (each filter matches any of its values, all
 * filters must match); opens each sealed key and value with the job's key provider, bound to the
 * record's origin ({@link Quarantines#sealedAs}); and produces the original key and value bytes to
 * {@code origin_topic}, partition {@code origin_partition}, in origin-offset order per partition,
 * from an idempotent producer with acks=all. The source topics are partitioned by tenant, so this
 * keeps each tenant's changes in their original order. The replayed record's Kafka timestamp is the
 * time of the replay; its only header, {@code tenant-export.replay-of}, names the quarantined
 * origin, which tells the job it was never applied (see below).
 *
 * <p>All or nothing up to producing: if any quarantine record is unreadable, any selected payload
 * does not open, or an origin topic or partition does not exist, the problems are listed and
 * nothing is produced. Records refused by a sink guard ({@code SINK_GUARD_MISMATCH}, origin {@code
 * sink:...}) are the job's own output and hold no payload: they are reported and skipped. A second
 * quarantine record for an origin already selected is skipped. {@code --limit N} replays only the
 * first N selected records in origin order, so a partial replay is a prefix of each partition.
 * {@code --dry-run} does everything except producing.
 *
 * <p>The output names origins, reason codes and tenants, and counts per reason and tenant; never
 * payload contents, which can hold personal data, nor the quarantine's free-text reasons.
 *
 * <p><b>What the job does with a replayed record.</b> A quarantined record was never applied, so
 * the job does not drop it for lying below its row's or table's high-water mark (later changes have
 * usually been exported since): an append-only change is applied (to the warehouse only if its
 * window is still open, else to the lake as late); a mutable row's change older than the row's
 * current state goes to the lake only, as late, because applying it to the rollups could count the
 * row twice. The job remembers replayed origins per scope for 30 days, so replaying the same
 * records twice within that time changes nothing the second time. A record that is still invalid is
 * simply quarantined again, under its new origin.
 */
final class QuarantineReplayCommand implements Command {
  private static final String TENANT = "--tenant";
  private static final String REASON = "--reason";
  private static final String ORIGIN_TOPIC = "--origin-topic";
  private static final String DRY_RUN = "--dry-run";
  private static final String LIMIT = "--limit";
  private static final String CLIENT_ID = "tenant-export-cli-replay";

  @Override
  public String name() {
    return "quarantine replay";
  }

  @Override
  public String summary() {
    return "re-inject quarantined records into their original topics and partitions";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export quarantine replay --config <job.yaml> [--tenant <id> ...]
                   [--reason <CODE> ...] [--origin-topic <topic> ...] [--dry-run] [--limit <n>]
                   [--<key>=<value> ...]

        Reads the quarantine topic (committed records only), selects records by the filters,
        opens their sealed key and value with the job's key provider and produces the original
        bytes to their original topic and partition, in their original order. Prints origins,
        reason codes and tenants, never payloads. Nothing is produced if any selected record
        cannot be opened or its topic is missing. Records refused by a sink guard
        (SINK_GUARD_MISMATCH) hold no payload and are skipped.

        Replaying twice re-injects twice. PostgreSQL and MySQL changes carry a source position
        and the job skips those it already applied, so replaying them again is safe. Records
        without a source position are deduplicated by Kafka position: a replayed copy would be
        counted again, so replay those once.

          --tenant <id>          only records of this tenant; repeatable
          --reason <CODE>        only records quarantined for this reason, e.g. NO_POLICY;
                                 repeatable
          --origin-topic <topic> only records from this topic; repeatable
          --dry-run              print what would be replayed, produce nothing
          --limit <n>            replay at most n records (the first in origin order)
        """
        + JobConfigs.HELP;
  }

  @Override
  public Args.Spec arguments() {
    return new Args.Spec()
        .value(JobConfigs.CONFIG)
        .repeated(TENANT)
        .repeated(REASON)
        .repeated(ORIGIN_TOPIC)
        .flag(DRY_RUN)
        .value(LIMIT)
        .jobSettings();
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    Filters filters = Filters.of(args);
    int limit = limit(args.value(LIMIT));
    boolean dryRun = args.flag(DRY_RUN);
    JobConfig config = JobConfigs.load(args, io);
    KafkaClients.requireSlf4j();

    Read read = readQuarantine(config);
    io.out()
        .println(
            "read "
                + read.entries().size()
                + " committed record(s) of "
                + config.quarantineTopic()
                + " at "
                + config.bootstrapServers()
                + " up to offsets "
                + read.end());
    List<String> problems = new ArrayList<>(read.unreadable());

    List<QuarantineEntry> selected = read.entries().stream().filter(filters::matches).toList();
    List<QuarantineEntry> noPayload = new ArrayList<>();
    Map<String, QuarantineEntry> byOrigin = new LinkedHashMap<>();
    int duplicates = 0;
    for (QuarantineEntry e : selected) {
      if (!e.hasPayload()) {
        noPayload.add(e);
      } else if (byOrigin.putIfAbsent(e.origin(), e) != null) {
        duplicates++;
      }
    }
    List<QuarantineEntry> replayable =
        byOrigin.values().stream()
            .sorted(
                Comparator.comparing(QuarantineEntry::originTopic)
                    .thenComparingInt(QuarantineEntry::originPartition)
                    .thenComparingLong(QuarantineEntry::originOffset))
            .toList();
    List<QuarantineEntry> chosen = replayable.subList(0, Math.min(limit, replayable.size()));
    io.out()
        .println(
            "selected "
                + selected.size()
                + " record(s)"
                + filters.describe()
                + ": "
                + chosen.size()
                + " to replay"
                + (duplicates == 0 ? "" : ", " + duplicates + " duplicate origin(s) skipped")
                + (noPayload.isEmpty() ? "" : ", " + noPayload.size() + " without payload")
                + (chosen.size() < replayable.size()
                    ? ", " + (replayable.size() - chosen.size()) + " left for later (" + LIMIT + ")"
                    : ""));
    for (QuarantineEntry e : noPayload) {
      io.out()
          .println(
              "skipped "
                  + e.origin()
                  + " ("
                  + describe(e)
                  + ", quarantined at "
                  + e.at()
                  + "): refused by a sink guard, no payload to replay");
    }

    List<Opened> opened = open(chosen, config, problems);
    checkTargets(chosen, config, problems);
    if (!problems.isEmpty()) {
      problems.forEach(io.err()::println);
      io.err()
          .println(
              TenantExportCli.NAME
                  + " "
                  + name()
                  + ": nothing replayed: "
                  + problems.size()
                  + " problem(s) above");
      wipe(opened);
      return TenantExportCli.FAILED;
    }

    List<QuarantineEntry> done;
    if (dryRun) {
      done = opened.stream().map(Opened::entry).toList();
      done.forEach(e -> io.out().println("would replay " + e.origin() + " (" + describe(e) + ")"));
    } else {
      done = produce(opened, config, io);
    }
    wipe(opened);
    int failed = opened.size() - done.size();
    io.out()
        .println(
            (dryRun ? "dry run, nothing produced: would replay " : "replayed ")
                + done.size()
                + " record(s)"
                + (failed == 0 ? "" : ", " + failed + " failed: see above"));
    io.out().println("  by reason: " + counts(done, QuarantineEntry::reasonCode));
    io.out().println("  by tenant: " + counts(done, QuarantineReplayCommand::tenantLabel));
    return failed == 0 ? TenantExportCli.OK : TenantExportCli.FAILED;
  }

  /** The whole quarantine topic up to the last stable offsets seen when reading starts. */
  private static Read readQuarantine(JobConfig config) {
    String topic = config.quarantineTopic();
    ObjectMapper json = new ObjectMapper();
    List<QuarantineEntry> entries = new ArrayList<>();
    List<String> unreadable = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        KafkaClients.readCommittedConsumer(config, CLIENT_ID)) {
      List<PartitionInfo> infos = consumer.partitionsFor(topic, KafkaClients.TIMEOUT);
      if (infos == null || infos.isEmpty()) {
        throw new CommandFailedException(
            "quarantine topic '"
                + topic
                + "' (kafka.quarantine_topic) does not exist at "
                + config.bootstrapServers());
      }
      List<TopicPartition> partitions =
          infos.stream()
              .map(i -> new TopicPartition(topic, i.partition()))
              .sorted(Comparator.comparingInt(TopicPartition::partition))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      // Under read_committed these are the last stable offsets: open transactions are not waited
      // for, aborted records are never returned.
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, KafkaClients.TIMEOUT);
      Map<TopicPartition, Long> positions = positions(consumer, partitions);
      long lastProgress = System.nanoTime();
      while (!reached(positions, end)) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.offset() >= end.get(new TopicPartition(r.topic(), r.partition()))) {
            continue;
          }
          String at = r.topic() + "/" + r.partition() + "@" + r.offset();
          try {
            entries.add(QuarantineEntry.parse(json, at, r.value()));
          } catch (IllegalArgumentException e) {
            unreadable.add(e.getMessage());
          }
        }
        Map<TopicPartition, Long> now = positions(consumer, partitions);
        if (!now.equals(positions)) {
          positions = now;
          lastProgress = System.nanoTime();
        } else if (System.nanoTime() - lastProgress > KafkaClients.TIMEOUT.toNanos()) {
          throw new CommandFailedException(
              "reading "
                  + topic
                  + " at "
                  + config.bootstrapServers()
                  + " made no progress for "
                  + KafkaClients.TIMEOUT.toSeconds()
                  + "s: positions "
                  + offsets(positions)
                  + ", end "
                  + offsets(end));
        }
      }
      return new Read(entries, unreadable, offsets(end));
    }
  }

  private static Map<TopicPartition, Long> positions(
      KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions) {
    Map<TopicPartition, Long> m = new LinkedHashMap<>();
    partitions.forEach(p -> m.put(p, consumer.position(p, KafkaClients.TIMEOUT)));
    return m;
  }

  private static boolean reached(
      Map<TopicPartition, Long> positions, Map<TopicPartition, Long> end) {
    return end.entrySet().stream().allMatch(e -> positions.get(e.getKey()) >= e.getValue());
  }

  /** {@code {0=12, 1=7}}: offsets by partition. */
  private static String offsets(Map<TopicPartition, Long> m) {
    Map<Integer, Long> byPartition = new TreeMap<>();
    m.forEach((p, o) -> byPartition.put(p.partition(), o));
    return byPartition.toString();
  }

  /** Opens each entry's payload; adds a problem per entry that does not open. */
  private static List<Opened> open(
      List<QuarantineEntry> entries, JobConfig config, List<String> problems) {
    List<Opened> opened = new ArrayList<>();
    if (entries.isEmpty()) {
      return opened;
    }
    KeyProvider keys;
    try {
      keys = KeyProviders.open(config.keyOptions());
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new CommandFailedException("cannot open the key provider (keys.*): " + e.getMessage());
    }
    try (keys) {
      for (QuarantineEntry e : entries) {
        try {
          byte[] key =
              QuarantineCipher.open(e.sealedKey(), Quarantines.sealedAs(e.origin(), "key"), keys);
          byte[] value =
              QuarantineCipher.open(
                  e.sealedValue(), Quarantines.sealedAs(e.origin(), "value"), keys);
          opened.add(new Opened(e, key, value));
        } catch (SealedPayloadException | KeyNotFoundException x) {
          // Their messages name the origin and key ids, never contents.
          problems.add(x.getMessage() + " (quarantined at " + e.at() + ")");
        }
      }
    }
    return opened;
  }

  /** Adds a problem per origin topic that is missing and per partition it no longer has. */
  private static void checkTargets(
      List<QuarantineEntry> entries, JobConfig config, List<String> problems) {
    if (entries.isEmpty()) {
      return;
    }
    Set<String> topics = new TreeSet<>();
    entries.forEach(e -> topics.add(e.originTopic()));
    Map<String, Integer> counts;
    try (Admin admin = KafkaClients.admin(config, CLIENT_ID)) {
      counts = KafkaClients.partitionCounts(admin, topics, config);
    }
    Set<String> found = new LinkedHashSet<>();
    for (QuarantineEntry e : entries) {
      Integer n = counts.get(e.originTopic());
      if (n == null) {
        found.add(
            "origin topic '"
                + e.originTopic()
                + "' does not exist at "
                + config.bootstrapServers()
                + ": its records cannot be replayed");
      } else if (e.originPartition() < 0 || e.originPartition() >= n) {
        found.add(
            "origin partition "
                + e.originTopic()
                + "/"
                + e.originPartition()
                + " does not exist (the topic has "
                + n
                + " partition(s)): its records cannot be replayed in order");
      }
    }
    problems.addAll(found);
  }

  /** Produces every record in order; prints each; returns those acknowledged. */
  private static List<QuarantineEntry> produce(List<Opened> opened, JobConfig config, Io io) {
    List<QuarantineEntry> done = new ArrayList<>();
    if (opened.isEmpty()) {
      return done;
    }
    try (KafkaProducer<byte[], byte[]> producer = KafkaClients.producer(config, CLIENT_ID)) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (Opened o : opened) {
        QuarantineEntry e = o.entry();
        acks.add(
            producer.send(
                new ProducerRecord<>(
                    e.originTopic(),
                    e.originPartition(),
                    null,
                    o.key(),
                    o.value(),
                    List.of(
                        new RecordHeader(
                            RawRecord.REPLAY_HEADER,
                            e.origin().getBytes(StandardCharsets.UTF_8))))));
      }
      producer.flush();
      for (int i = 0; i < opened.size(); i++) {
        QuarantineEntry e = opened.get(i).entry();
        try {
          RecordMetadata m = acks.get(i).get();
          done.add(e);
          io.out()
              .println(
                  "replayed "
                      + e.origin()
                      + " -> "
                      + m.topic()
                      + "/"
                      + m.partition()
                      + "@"
                      + m.offset()
                      + " ("
                      + describe(e)
                      + ")");
        } catch (ExecutionException x) {
          io.err()
              .println("not replayed " + e.origin() + " (" + describe(e) + "): " + x.getCause());
        } catch (InterruptedException x) {
          Thread.currentThread().interrupt();
          throw new CommandFailedException("interrupted while replaying", x);
        }
      }
    }
    return done;
  }

  private static void wipe(List<Opened> opened) {
    for (Opened o : opened) {
      if (o.key() != null) {
        Arrays.fill(o.key(), (byte) 0);
      }
      if (o.value() != null) {
        Arrays.fill(o.value(), (byte) 0);
      }
    }
  }

  private static String describe(QuarantineEntry e) {
    return tenantLabel(e) + ", " + e.reasonCode();
  }

  private static String tenantLabel(QuarantineEntry e) {
    return e.tenantOrNull() == null ? "no tenant" : "tenant " + e.tenantOrNull();
  }

  /** {@code A 3, B 1}, sorted by key; {@code none} when empty. */
  private static String counts(
      List<QuarantineEntry> entries, Function<QuarantineEntry, String> by) {
    if (entries.isEmpty()) {
      return "none";
    }
    Map<String, Long> m = new TreeMap<>();
    entries.forEach(e -> m.merge(by.apply(e), 1L, Long::sum));
    return m.entrySet().stream()
        .map(e -> e.getKey() + " " + e.getValue())
        .collect(Collectors.joining(", "));
  }

  private static int limit(String value) throws UsageException {
    if (value == null) {
      return Integer.MAX_VALUE;
    }
    try {
      int n = Integer.parseInt(value);
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below with the value
    }
    throw new UsageException(LIMIT + " '" + value + "': expected a positive integer");
  }

  /** The quarantine topic's readable entries, the problems of the others, and where it ended. */
  private record Read(List<QuarantineEntry> entries, List<String> unreadable, String end) {}

  /** An entry and its opened payload; never printed. */
  private record Opened(QuarantineEntry entry, byte[] key, byte[] value) {
    @Override
    public String toString() {
      return "Opened[" + entry + "]";
    }
  }

  /** The selection: each filter matches any of its values; absent filters match everything. */
  private record Filters(Set<String> tenants, Set<String> reasons, Set<String> originTopics) {
    static Filters of(Args args) throws UsageException {
      Set<String> tenants = new TreeSet<>();
      for (String t : args.values(TENANT)) {
        if (!TenantId.isValid(t)) {
          throw new UsageException(
              TENANT + " " + TenantId.describe(t) + ": not a tenant id, " + TenantId.problem(t));
        }
        tenants.add(t);
      }
      Set<String> known =
          Arrays.stream(QuarantineReason.values()).map(Enum::name).collect(Collectors.toSet());
      Set<String> reasons = new TreeSet<>();
      for (String r : args.values(REASON)) {
        String code = r.toUpperCase(Locale.ROOT);
        if (!known.contains(code)) {
          throw new UsageException(
              REASON
                  + " "
                  + TenantId.describe(r)
                  + ": unknown reason code; known: "
                  + Arrays.stream(QuarantineReason.values())
                      .map(Enum::name)
                      .collect(Collectors.joining(", ")));
        }
        reasons.add(code);
      }
      return new Filters(tenants, reasons, new TreeSet<>(args.values(ORIGIN_TOPIC)));
    }

    boolean matches(QuarantineEntry e) {
      return (tenants.isEmpty() || (e.tenantOrNull() != null && tenants.contains(e.tenantOrNull())))
          && (reasons.isEmpty() || reasons.contains(e.reasonCode()))
          && (originTopics.isEmpty() || originTopics.contains(e.originTopic()));
    }

    String describe() {
      List<String> parts = new ArrayList<>();
      tenants.forEach(t -> parts.add(TENANT + " " + t));
      reasons.forEach(r -> parts.add(REASON + " " + r));
      originTopics.forEach(t -> parts.add(ORIGIN_TOPIC + " " + t));
      return parts.isEmpty() ? " (no filter)" : " by " + String.join(" ", parts);
    }
  }
}
