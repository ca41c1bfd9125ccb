package io.tenantexport.local.infra;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * A real Kafka cluster for the local run and the end-to-end tests. {@link #start()} picks one of
 * three, in this order, and logs which:
 *
 * <ol>
 *   <li>{@link Mode#EXTERNAL}: the cluster named by {@value #BOOTSTRAP_ENV}; it is neither started
 *       nor stopped here.
 *   <li>{@link Mode#TESTCONTAINERS}: {@value #KAFKA_IMAGE} in a container, when a Docker engine
 *       answers.
 *   <li>{@link Mode#EMBEDDED_KRAFT}: one combined broker and controller inside this JVM, listening
 *       on 127.0.0.1 only (the case on the project's own machines, which have no Docker).
 * </ol>
 *
 * <p>A broker started here runs with replication factor 1 and min ISR 1 for its internal topics, so
 * that transactions and consumer groups work on a single node, and no initial rebalance delay.
 *
 * <p>The helpers are synchronous and exact: {@link #produce} returns once every record is
 * acknowledged by all in-sync replicas, and {@link #readAll} returns precisely the records below
 * the end offsets it saw when it began. Safe for concurrent use; {@link #close()} is idempotent.
 */
public final class LocalKafka implements AutoCloseable {
  /** Which Kafka this is; see the class comment for how it is chosen. */
  public enum Mode {
    EXTERNAL,
    TESTCONTAINERS,
    EMBEDDED_KRAFT
  }

  /** Environment variable naming an existing cluster's bootstrap servers. */
  public static final String BOOTSTRAP_ENV = "TENANT_EXPORT_KAFKA_BOOTSTRAP";

  /** The image used when Docker is available: the same Kafka release as the embedded broker. */
  public static final String KAFKA_IMAGE = "apache/kafka:4.2.0";

  private static final Logger LOG = LoggerFactory.getLogger(LocalKafka.class);

  /** Bounds every single admin call, and a producer's wait for acknowledgements. */
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

  private static final Map<String, String> BROKER_SETTINGS =
      Map.of(
          "offsets.topic.replication.factor", "1",
          "transaction.state.log.replication.factor", "1",
          "transaction.state.log.min.isr", "1",
          "group.initial.rebalance.delay.ms", "0");

  private final Mode mode;
  private final String bootstrapServers;
  private final AutoCloseable broker;
  private final Admin admin;
  private final AtomicBoolean closed = new AtomicBoolean();

  private LocalKafka(Mode mode, String bootstrapServers, AutoCloseable broker) {
    this.mode = mode;
    this.bootstrapServers = bootstrapServers;
    this.broker = broker;
    try {
      this.admin =
          Admin.create(
              Map.of(
                  AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                  bootstrapServers,
                  AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                  (int) CALL_TIMEOUT.toMillis()));
    } catch (KafkaException e) {
      IllegalArgumentException failure =
          new IllegalArgumentException(
              "Kafka: cannot use bootstrap servers '"
                  + bootstrapServers
                  + "'"
                  + (mode == Mode.EXTERNAL ? " (from " + BOOTSTRAP_ENV + ")" : ""),
              e);
      try {
        broker.close();
      } catch (Exception suppressed) {
        failure.addSuppressed(suppressed);
      }
      throw failure;
    }
  }

  /** Chooses, starts if needed and connects to a Kafka cluster; see the class comment. */
  public static LocalKafka start() {
    return start(System.getenv());
  }

  /** {@link #start()} with the environment given, so the choice can be tested. */
  static LocalKafka start(Map<String, String> env) {
    String external = env.get(BOOTSTRAP_ENV);
    if (external != null && !external.isBlank()) {
      LocalKafka kafka = new LocalKafka(Mode.EXTERNAL, external.trim(), () -> {});
      LOG.info(
          "Kafka: using the external cluster at {} (from {}); it is not started or stopped here",
          kafka.bootstrapServers,
          BOOTSTRAP_ENV);
      return kafka;
    }
    if (dockerAvailable()) {
      return startContainer();
    }
    return startEmbedded();
  }

  /**
   * Whether Testcontainers can reach a Docker engine. Any failure while asking (no socket, a broken
   * configuration, classes missing) means no: the embedded broker is always there to fall back on.
   */
  static boolean dockerAvailable() {
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException | LinkageError e) {
      LOG.debug("Kafka: asking Testcontainers for a Docker engine failed", e);
      return false;
    }
  }

  private static LocalKafka startContainer() {
    LOG.info("Kafka: a Docker engine is reachable; starting {} with Testcontainers", KAFKA_IMAGE);
    long started = System.nanoTime();
    KafkaContainer container = new KafkaContainer(DockerImageName.parse(KAFKA_IMAGE));
    // The image reads broker settings from KAFKA_<NAME> variables, dots as underscores.
    BROKER_SETTINGS.forEach(
        (name, value) -> container.withEnv("KAFKA_" + name.toUpperCase().replace('.', '_'), value));
    try {
      container.start();
    } catch (RuntimeException e) {
      container.stop();
      throw new IllegalStateException("Kafka: could not start container " + KAFKA_IMAGE, e);
    }
    LOG.info(
        "Kafka: container {} up at {} in {} ms",
        KAFKA_IMAGE,
        container.getBootstrapServers(),
        elapsedMillis(started));
    return new LocalKafka(Mode.TESTCONTAINERS, container.getBootstrapServers(), container::stop);
  }

  private static LocalKafka startEmbedded() {
    LOG.info("Kafka: no Docker engine reachable; starting an embedded KRaft broker in this JVM");
    long started = System.nanoTime();
    EmbeddedKraftBroker broker;
    try {
      broker = EmbeddedKraftBroker.start(BROKER_SETTINGS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Kafka: interrupted while starting the embedded broker", e);
    } catch (Exception e) {
      throw new IllegalStateException("Kafka: could not start the embedded KRaft broker", e);
    }
    LOG.info(
        "Kafka: embedded KRaft broker (combined broker+controller) up at {} in {} ms",
        broker.bootstrapServers(),
        elapsedMillis(started));
    return new LocalKafka(Mode.EMBEDDED_KRAFT, broker.bootstrapServers(), broker);
  }

  public Mode mode() {
    return mode;
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  /**
   * Creates {@code name} with {@code partitions} partitions and the cluster's default replication;
   * does nothing if it already exists with that many partitions, and fails if it has another count.
   */
  public void createTopic(String name, int partitions) {
    requireTopicName(name);
    if (partitions < 1) {
      throw new IllegalArgumentException(
          "Topic '" + name + "' needs at least 1 partition, got " + partitions);
    }
    NewTopic topic = new NewTopic(name, Optional.of(partitions), Optional.empty());
    try {
      await(admin.createTopics(List.of(topic)).all(), "creating topic '" + name + "'");
      LOG.info("Kafka: created topic '{}' with {} partition(s)", name, partitions);
    } catch (IllegalStateException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw e;
      }
      int existing = describe(name).partitions().size();
      if (existing != partitions) {
        throw new IllegalStateException(
            String.format(
                "Kafka at %s: topic '%s' already exists with %d partition(s), not the %d asked for",
                bootstrapServers, name, existing, partitions));
      }
    }
  }

  /**
   * Sends {@code records} with acks=all and idempotence, and returns once every one is
   * acknowledged; fails naming the first record that was not.
   */
  public void produce(List<ProducerRecord<byte[], byte[]>> records) {
    Objects.requireNonNull(records, "records");
    if (records.isEmpty()) {
      return;
    }
    Properties config = clientConfig();
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) CALL_TIMEOUT.toMillis());
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) CALL_TIMEOUT.toMillis());
    config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) CALL_TIMEOUT.toMillis() / 2);
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config)) {
      List<Future<RecordMetadata>> acks = new ArrayList<>(records.size());
      for (ProducerRecord<byte[], byte[]> record : records) {
        acks.add(producer.send(record));
      }
      producer.flush();
      for (int i = 0; i < acks.size(); i++) {
        try {
          acks.get(i).get();
        } catch (ExecutionException e) {
          throw new IllegalStateException(
              String.format(
                  "Kafka at %s: record %d of %d (topic '%s', partition %s) was not acknowledged",
                  bootstrapServers,
                  i + 1,
                  records.size(),
                  records.get(i).topic(),
                  records.get(i).partition() == null ? "by key" : records.get(i).partition()),
              e.getCause());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Kafka: interrupted while producing", e);
    }
  }

  /**
   * Reads {@code topic} from the beginning up to the end offsets it sees when it starts, ordered by
   * partition and then offset; records appended meanwhile are left out. With {@code readCommitted}
   * the end is each partition's last stable offset, so aborted records and those of a still-open
   * transaction are not returned; without it, they are.
   *
   * @throws IllegalArgumentException if the topic does not exist
   * @throws IllegalStateException if the end offsets are not reached within {@code timeout}
   */
  public List<ConsumerRecord<byte[], byte[]>> readAll(
      String topic, boolean readCommitted, Duration timeout) {
    requireTopicName(topic);
    long deadline = System.nanoTime() + timeout.toNanos();
    Properties config = clientConfig();
    config.put(
        ConsumerConfig.ISOLATION_LEVEL_CONFIG,
        readCommitted ? "read_committed" : "read_uncommitted");
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    // Asking for a missing topic must not create it on a broker that auto-creates topics.
    config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config)) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, timeout).stream()
              .map(info -> new TopicPartition(topic, info.partition()))
              .sorted(Comparator.comparingInt(TopicPartition::partition))
              .toList();
      if (partitions.isEmpty()) {
        throw new IllegalArgumentException(
            "Kafka at " + bootstrapServers + ": topic '" + topic + "' does not exist");
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      // With read_committed the consumer's end offsets are the last stable offsets.
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, remaining(deadline));
      Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> read = new LinkedHashMap<>();
      partitions.forEach(partition -> read.put(partition, new ArrayList<>()));
      // The position, not the count of records returned, decides: aborted records and transaction
      // markers take offsets below the end but are never handed out.
      while (!reachedEnd(consumer, end)) {
        if (System.nanoTime() - deadline > 0) {
          Map<TopicPartition, Long> positions = new LinkedHashMap<>();
          partitions.forEach(p -> positions.put(p, consumer.position(p, CALL_TIMEOUT)));
          throw new IllegalStateException(
              String.format(
                  "Kafka at %s: reading topic '%s' (%s) did not reach end offsets %s within %s;"
                      + " positions %s",
                  bootstrapServers,
                  topic,
                  readCommitted ? "read_committed" : "read_uncommitted",
                  end,
                  timeout,
                  positions));
        }
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
          TopicPartition partition = new TopicPartition(record.topic(), record.partition());
          if (record.offset() < end.get(partition)) {
            read.get(partition).add(record);
          }
        }
      }
      return read.values().stream().flatMap(List::stream).toList();
    }
  }

  /**
   * The log-end offset (high watermark) of every partition of {@code topic}, in partition order:
   * what a read_uncommitted consumer would read up to.
   */
  public Map<TopicPartition, Long> endOffsets(String topic) {
    requireTopicName(topic);
    Map<TopicPartition, OffsetSpec> request = new LinkedHashMap<>();
    describe(topic).partitions().stream()
        .sorted(Comparator.comparingInt(p -> p.partition()))
        .forEach(p -> request.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
    Map<TopicPartition, ListOffsetsResultInfo> offsets =
        await(admin.listOffsets(request).all(), "listing end offsets of topic '" + topic + "'");
    Map<TopicPartition, Long> result = new LinkedHashMap<>();
    request.keySet().forEach(partition -> result.put(partition, offsets.get(partition).offset()));
    return result;
  }

  /** Closes the admin client and stops the broker if it was started here. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    admin.close(CALL_TIMEOUT);
    long started = System.nanoTime();
    try {
      broker.close();
    } catch (Exception e) {
      throw new IllegalStateException(
          "Kafka: stopping the " + mode + " broker at " + bootstrapServers + " failed", e);
    }
    if (mode != Mode.EXTERNAL) {
      LOG.info(
          "Kafka: {} broker at {} stopped in {} ms",
          mode,
          bootstrapServers,
          elapsedMillis(started));
    }
  }

  private Properties clientConfig() {
    Properties config = new Properties();
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    return config;
  }

  private TopicDescription describe(String topic) {
    return await(
            admin.describeTopics(List.of(topic)).allTopicNames(),
            "describing topic '" + topic + "'")
        .get(topic);
  }

  private static boolean reachedEnd(
      KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> end) {
    for (Map.Entry<TopicPartition, Long> partition : end.entrySet()) {
      // Only the first call per partition asks the broker (to resolve seekToBeginning).
      if (consumer.position(partition.getKey(), CALL_TIMEOUT) < partition.getValue()) {
        return false;
      }
    }
    return true;
  }

  /** Waits for an admin call; the Kafka error, if any, is the cause of the exception thrown. */
  private <T> T await(KafkaFuture<T> future, String what) {
    try {
      return future.get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "Kafka at " + bootstrapServers + ": " + what + " failed", e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "Kafka at " + bootstrapServers + ": " + what + " took longer than " + CALL_TIMEOUT, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Kafka: interrupted while " + what, e);
    }
  }

  private static void requireTopicName(String topic) {
    if (topic == null || topic.isBlank()) {
      throw new IllegalArgumentException("A topic name is required, got '" + topic + "'");
    }
  }

  /** Time left until {@code deadline}, never negative (a zero wait still makes one attempt). */
  private static Duration remaining(long deadline) {
    return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
  }

  private static long elapsedMillis(long startedNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
  }
}
