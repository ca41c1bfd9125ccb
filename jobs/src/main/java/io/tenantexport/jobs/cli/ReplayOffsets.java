package io.tenantexport.jobs.cli;

import io.tenantexport.jobs.config.JobConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;

/**
 * Where a replay stops reading each source partition, and whether the live job has read (and
 * committed) that far: the replay's rows may only replace live rows the live job will never write
 * again.
 *
 * <p>The replay job stops each partition before the first record stamped at or after {@link
 * ReplayRange#readEnd} (Flink's {@code OffsetsInitializer.timestamp}), or at its end offset when
 * there is none yet. {@link #stopOffsets} asks Kafka the same question. The two agree as long as no
 * record stamped before the read end is appended after this call: with a range that ended {@link
 * ReplayRange#settle} ago and record timestamps that follow the clock (Debezium's), every new
 * record is stamped later.
 *
 * <p>The live job's Kafka source commits its offsets to {@code kafka.group_id} when a checkpoint
 * completes, the same checkpoint that commits the lake files holding the rows read before it: once
 * the committed offsets reach the stop offsets, the live job's rows for everything the replay reads
 * are in committed lake files, or are in files the next checkpoint commits.
 */
final class ReplayOffsets {
  private static final Duration POLL = Duration.ofMillis(200);

  private ReplayOffsets() {}

  /** The partitions of the live job's source topics ({@code kafka.topics} or its pattern). */
  static List<TopicPartition> partitions(Admin admin, JobConfig live) {
    List<String> topics = live.topics();
    if (topics.isEmpty()) {
      Pattern p = Pattern.compile(live.topicPattern());
      topics =
          get(admin.listTopics().names(), live, "list topics").stream()
              .filter(t -> p.matcher(t).matches())
              .sorted()
              .toList();
    }
    List<TopicPartition> partitions = new ArrayList<>();
    Map<String, Integer> counts = KafkaClients.partitionCounts(admin, topics, live);
    for (String t : topics) {
      Integer n = counts.get(t);
      if (n == null) {
        throw new CommandFailedException(
            "source topic '" + t + "' (kafka.topics) does not exist at " + live.bootstrapServers());
      }
      for (int i = 0; i < n; i++) {
        partitions.add(new TopicPartition(t, i));
      }
    }
    return partitions;
  }

  /**
   * Per partition, the offset the replay stops before: the first record stamped at or after {@code
   * readEnd}, else the end offset.
   */
  static Map<TopicPartition, Long> stopOffsets(
      Admin admin, JobConfig live, List<TopicPartition> partitions, Instant readEnd) {
    Map<TopicPartition, Long> byTime =
        offsets(admin, live, partitions, OffsetSpec.forTimestamp(readEnd.toEpochMilli()));
    Map<TopicPartition, Long> end = offsets(admin, live, partitions, OffsetSpec.latest());
    Map<TopicPartition, Long> stop = new TreeMap<>(ReplayOffsets::compare);
    for (TopicPartition tp : partitions) {
      long t = byTime.get(tp);
      stop.put(tp, t < 0 ? end.get(tp) : t);
    }
    return stop;
  }

  /**
   * Per partition, its earliest offset: a partition whose stop offset is no later needs nothing.
   */
  static Map<TopicPartition, Long> startOffsets(
      Admin admin, JobConfig live, List<TopicPartition> partitions) {
    return offsets(admin, live, partitions, OffsetSpec.earliest());
  }

  /**
   * The partitions whose committed offset in {@code committed} is below their stop offset, as
   * {@code topic/partition committed/stop}; empty when the live job has read everything the replay
   * reads. A partition with nothing before its stop offset needs no commit.
   */
  static List<String> behind(
      Map<TopicPartition, Long> stop,
      Map<TopicPartition, Long> start,
      Map<TopicPartition, OffsetAndMetadata> committed) {
    List<String> behind = new ArrayList<>();
    stop.forEach(
        (tp, s) -> {
          if (s <= start.getOrDefault(tp, 0L)) {
            return;
          }
          OffsetAndMetadata c = committed.get(tp);
          if (c == null || c.offset() < s) {
            behind.add(tp + " " + (c == null ? "none" : c.offset()) + "/" + s);
          }
        });
    return behind;
  }

  /**
   * Waits until the consumer group {@code groupId} has committed at least the stop offset of every
   * partition.
   *
   * @throws CommandFailedException after {@code timeout}, naming the partitions still behind
   */
  static void awaitCommitted(
      Admin admin,
      JobConfig live,
      Map<TopicPartition, Long> stop,
      Map<TopicPartition, Long> start,
      Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          get(
              admin.listConsumerGroupOffsets(live.groupId()).partitionsToOffsetAndMetadata(),
              live,
              "list the offsets of consumer group " + live.groupId());
      List<String> behind = behind(stop, start, committed);
      if (behind.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new CommandFailedException(
            "the live job (consumer group "
                + live.groupId()
                + ", kafka.group_id) has not committed what the replay would read within "
                + timeout.toSeconds()
                + "s; behind (committed/needed): "
                + String.join(", ", behind.subList(0, Math.min(8, behind.size())))
                + (behind.size() > 8 ? ", ..." : "")
                + "; nothing was replayed");
      }
      sleep();
    }
  }

  private static Map<TopicPartition, Long> offsets(
      Admin admin, JobConfig live, List<TopicPartition> partitions, OffsetSpec spec) {
    Map<TopicPartition, OffsetSpec> request = new TreeMap<>(ReplayOffsets::compare);
    partitions.forEach(tp -> request.put(tp, spec));
    Map<TopicPartition, ListOffsetsResultInfo> info =
        get(admin.listOffsets(request).all(), live, "list offsets");
    Map<TopicPartition, Long> out = new TreeMap<>(ReplayOffsets::compare);
    info.forEach((tp, i) -> out.put(tp, i.offset()));
    return out;
  }

  private static int compare(TopicPartition a, TopicPartition b) {
    int c = a.topic().compareTo(b.topic());
    return c != 0 ? c : Integer.compare(a.partition(), b.partition());
  }

  private static <T> T get(KafkaFuture<T> future, JobConfig live, String what) {
    try {
      return future.get(KafkaClients.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new CommandFailedException(
          "cannot " + what + " at " + live.bootstrapServers() + ": " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new CommandFailedException(
          "Kafka at "
              + live.bootstrapServers()
              + " did not "
              + what
              + " within "
              + KafkaClients.TIMEOUT.toSeconds()
              + "s",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandFailedException("interrupted", e);
    }
  }

  static void sleep() {
    try {
      Thread.sleep(POLL.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandFailedException("interrupted", e);
    }
  }
}
