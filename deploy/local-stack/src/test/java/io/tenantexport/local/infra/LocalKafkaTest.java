package io.tenantexport.local.infra;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LocalKafkaTest {
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

  private static LocalKafka kafka;

  @BeforeAll
  static void startKafka() {
    kafka = LocalKafka.start();
  }

  @AfterAll
  static void stopKafka() {
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  void startsAnEmbeddedKraftBrokerOnLoopbackWithoutAClusterOrDocker() {
    assumeTrue(System.getenv(LocalKafka.BOOTSTRAP_ENV) == null, "an external cluster is named");
    assumeFalse(LocalKafka.dockerAvailable(), "a Docker engine is reachable");

    assertThat(kafka.mode()).isEqualTo(LocalKafka.Mode.EMBEDDED_KRAFT);
    assertThat(kafka.bootstrapServers()).matches("127\\.0\\.0\\.1:\\d+");
  }

  @Test
  void readsBackWhatWasProducedPartitionByPartition() {
    kafka.createTopic("round-trip", 2);
    List<ProducerRecord<byte[], byte[]>> records =
        IntStream.range(0, 6).mapToObj(i -> record("round-trip", i % 2, "k" + i, "v" + i)).toList();

    kafka.produce(records);

    assertThat(values(kafka.readAll("round-trip", true, READ_TIMEOUT)))
        .containsExactly("v0", "v2", "v4", "v1", "v3", "v5");
    assertThat(kafka.readAll("round-trip", true, READ_TIMEOUT))
        .extracting(r -> new String(r.key(), UTF_8))
        .containsExactly("k0", "k2", "k4", "k1", "k3", "k5");
    assertThat(kafka.endOffsets("round-trip"))
        .containsExactly(
            entry(new TopicPartition("round-trip", 0), 3L),
            entry(new TopicPartition("round-trip", 1), 3L));
  }

  @Test
  void readsAnEmptyTopicAsEmpty() {
    kafka.createTopic("empty", 2);

    assertThat(kafka.readAll("empty", true, READ_TIMEOUT)).isEmpty();
    assertThat(kafka.endOffsets("empty"))
        .containsOnlyKeys(new TopicPartition("empty", 0), new TopicPartition("empty", 1));
  }

  @Test
  void createsATopicOnceAndRefusesAnotherPartitionCount() {
    kafka.createTopic("created-twice", 2);
    kafka.createTopic("created-twice", 2);

    assertThat(kafka.endOffsets("created-twice")).hasSize(2);
    assertThatThrownBy(() -> kafka.createTopic("created-twice", 3))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'created-twice' already exists with 2 partition(s), not the 3");
  }

  @Test
  void refusesToReadATopicThatDoesNotExist() {
    assertThatThrownBy(() -> kafka.readAll("no-such-topic", true, Duration.ofSeconds(5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("topic 'no-such-topic' does not exist");
  }

  @Test
  void abortedRecordsAreVisibleOnlyToReadUncommitted() {
    kafka.createTopic("transactions", 2);
    try (KafkaProducer<byte[], byte[]> producer = transactionalProducer("aborts")) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(record("transactions", 0, "a", "committed-1"));
      producer.commitTransaction();
      producer.beginTransaction();
      producer.send(record("transactions", 0, "b", "aborted-1"));
      producer.send(record("transactions", 1, "c", "aborted-2"));
      producer.flush();
      producer.abortTransaction();
      producer.beginTransaction();
      producer.send(record("transactions", 1, "d", "committed-2"));
      producer.commitTransaction();
    }

    assertThat(values(kafka.readAll("transactions", true, READ_TIMEOUT)))
        .containsExactly("committed-1", "committed-2");
    assertThat(values(kafka.readAll("transactions", false, READ_TIMEOUT)))
        .containsExactly("committed-1", "aborted-1", "aborted-2", "committed-2");
    // Each transaction leaves a marker on the partitions it wrote: 2 records + 2 markers each.
    assertThat(kafka.endOffsets("transactions").values()).containsExactly(4L, 4L);
  }

  @Test
  void readCommittedStopsBeforeAnOpenTransaction() {
    kafka.createTopic("open-transaction", 1);
    kafka.produce(List.of(record("open-transaction", 0, "a", "before")));
    try (KafkaProducer<byte[], byte[]> producer = transactionalProducer("stays-open")) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(record("open-transaction", 0, "b", "pending"));
      producer.flush();

      assertThat(values(kafka.readAll("open-transaction", true, READ_TIMEOUT)))
          .containsExactly("before");
      assertThat(values(kafka.readAll("open-transaction", false, READ_TIMEOUT)))
          .containsExactly("before", "pending");

      producer.abortTransaction();
    }
  }

  @Test
  void usesTheClusterNamedInTheEnvironmentAndLeavesItRunning() {
    try (LocalKafka external =
        LocalKafka.start(Map.of(LocalKafka.BOOTSTRAP_ENV, kafka.bootstrapServers()))) {
      assertThat(external.mode()).isEqualTo(LocalKafka.Mode.EXTERNAL);
      assertThat(external.bootstrapServers()).isEqualTo(kafka.bootstrapServers());
      external.createTopic("via-external", 1);
      external.produce(List.of(record("via-external", 0, "k", "v")));
    }

    assertThat(values(kafka.readAll("via-external", true, READ_TIMEOUT))).containsExactly("v");
  }

  @Test
  void refusesUnusableBootstrapServersNamingTheirSource() {
    assertThatThrownBy(() -> LocalKafka.start(Map.of(LocalKafka.BOOTSTRAP_ENV, "no port here")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'no port here' (from " + LocalKafka.BOOTSTRAP_ENV + ")");
  }

  private static KafkaProducer<byte[], byte[]> transactionalProducer(String transactionalId) {
    Properties config = new Properties();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return new KafkaProducer<>(config);
  }

  private static ProducerRecord<byte[], byte[]> record(
      String topic, int partition, String key, String value) {
    return new ProducerRecord<>(topic, partition, key.getBytes(UTF_8), value.getBytes(UTF_8));
  }

  private static List<String> values(List<ConsumerRecord<byte[], byte[]>> records) {
    return records.stream().map(r -> new String(r.value(), UTF_8)).toList();
  }
}
