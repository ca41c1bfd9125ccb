package io.tenantexport.jobs.cli;

import io.tenantexport.jobs.config.JobConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
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
 * Waits until consumer groups have read a fixed point of the input: every source partition's end
 * offset when {@code reconcile} started. The job commits its group's offsets only when a checkpoint
 * completes, and its warehouse sink has flushed every row of that checkpoint by then, so a group at
 * the end offsets proves that every window the input up to them closes is in the warehouse.
 */
final class ReconcileCatchUp {
  private static final Duration POLL = Duration.ofMillis(500);

  private final Admin admin;
  private final JobConfig config;

  ReconcileCatchUp(Admin admin, JobConfig config) {
    this.admin = admin;
    this.config = config;
  }

  /**
   * The end offset of every source partition of {@code config} ({@code kafka.topics}, or the topics
   * {@code kafka.topic_pattern} matches) that holds records; empty partitions need no commit.
   */
  Map<TopicPartition, Long> endOffsets() {
    List<String> topics = config.topics();
    if (topics.isEmpty()) {
      Pattern p = Pattern.compile(config.topicPattern());
      topics =
          get(admin.listTopics().names(), "list topics").stream()
              .filter(t -> p.matcher(t).matches())
              .sorted()
              .toList();
    }
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
    KafkaClients.partitionCounts(admin, topics, config)
        .forEach(
            (topic, n) -> {
              for (int p = 0; p < n; p++) {
                latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
                earliest.put(new TopicPartition(topic, p), OffsetSpec.earliest());
              }
            });
    Map<TopicPartition, ListOffsetsResultInfo> ends =
        get(admin.listOffsets(latest).all(), "read end offsets");
    Map<TopicPartition, ListOffsetsResultInfo> starts =
        get(admin.listOffsets(earliest).all(), "read start offsets");
    Map<TopicPartition, Long> out =
        new TreeMap<>(
            (a, b) ->
                a.topic().equals(b.topic())
                    ? Integer.compare(a.partition(), b.partition())
                    : a.topic().compareTo(b.topic()));
    ends.forEach(
        (tp, end) -> {
          if (end.offset() > starts.get(tp).offset()) {
            out.put(tp, end.offset());
          }
        });
    return out;
  }

  /**
   * Waits up to {@code timeout} until each of {@code groups} (what to call it → consumer group) has
   * committed at least {@code end} on every partition; fails naming the partitions behind.
   */
  void await(Map<TopicPartition, Long> end, Map<String, String> groups, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<String> behind = new ArrayList<>();
      groups.forEach((name, group) -> behind.addAll(behind(name, group, end)));
      if (behind.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new CommandFailedException(
            "not caught up within "
                + timeout.toSeconds()
                + "s with the input's end offsets at the start of reconcile: "
                + String.join("; ", behind.subList(0, Math.min(5, behind.size())))
                + (behind.size() > 5 ? "; and " + (behind.size() - 5) + " more" : "")
                + " (a longer --timeout waits longer)");
      }
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CommandFailedException("interrupted while waiting for " + groups.values(), e);
      }
    }
  }

  private List<String> behind(String name, String group, Map<TopicPartition, Long> end) {
    Map<TopicPartition, OffsetAndMetadata> committed =
        get(
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata(),
            "read the committed offsets of consumer group " + group);
    List<String> behind = new ArrayList<>();
    end.forEach(
        (tp, offset) -> {
          OffsetAndMetadata c = committed.get(tp);
          if (c == null || c.offset() < offset) {
            behind.add(
                name
                    + " (group "
                    + group
                    + ") at "
                    + tp
                    + " committed "
                    + (c == null ? "nothing" : c.offset())
                    + " of "
                    + offset);
          }
        });
    return behind;
  }

  private <T> T get(KafkaFuture<T> future, String what) {
    try {
      return future.get(KafkaClients.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new CommandFailedException(
          "cannot " + what + " at " + config.bootstrapServers(), e.getCause());
    } catch (TimeoutException e) {
      throw new CommandFailedException(
          "Kafka at "
              + config.bootstrapServers()
              + " did not "
              + what
              + " within "
              + KafkaClients.TIMEOUT.toSeconds()
              + "s (kafka.bootstrap_servers)",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CommandFailedException("interrupted", e);
    }
  }
}
