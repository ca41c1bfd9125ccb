package io.tenantexport.local;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.common.cdc.QuarantineReason;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.keys.QuarantineCipher;
import io.tenantexport.jobs.cli.TenantExportCli;
import io.tenantexport.jobs.io.AvroJson;
import io.tenantexport.jobs.operators.Quarantines;
import io.tenantexport.local.infra.LocalKafka;
import io.tenantexport.schemas.QuarantineRecord;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tenant-export quarantine replay} and {@code policy publish} against a real broker, with
 * the shipped job file ({@code deploy/job.yaml}) pointed at it by flags, as an operator would.
 *
 * <p>The quarantine topic holds, as the job writes them (JSON, payloads sealed with the dev
 * keystore's quarantine key, inside a Kafka transaction): a committed batch of records of several
 * tenants, reasons and origin topics, a sink guard's record without payload, and an aborted
 * transaction whose record must never be replayed. Every payload carries a {@value #SECRET} marker
 * that must never appear in the tool's output.
 */
class QuarantineReplayIT {
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);
  private static final Path JOB_FILE = Path.of("../job.yaml");
  private static final Path POLICIES = Path.of("../policies");

  private static final String QUARANTINE = "replay-it.quarantine";
  private static final String ORDERS = "replay-it.orders";
  private static final String PAGE_VIEWS = "replay-it.page_views";

  /** In every payload: personal data the tool must never print. */
  private static final String SECRET = "alice.secret@example.com";

  /** A committed quarantine record: where it came from and its original bytes. */
  private record Original(
      String tenant,
      QuarantineReason reason,
      String topic,
      int partition,
      long offset,
      byte[] key,
      byte[] value) {
    String origin() {
      return topic + "/" + partition + "@" + offset;
    }
  }

  private static final Original ACME_ORDER_10 =
      new Original(
          "t00-acme",
          QuarantineReason.NO_POLICY,
          ORDERS,
          1,
          10,
          bytes("{\"id\":10}"),
          bytes("{\"op\":\"c\",\"after\":{\"id\":10,\"email\":\"" + SECRET + "\"}}"));
  private static final Original ACME_ORDER_11 =
      new Original(
          "t00-acme",
          QuarantineReason.NO_POLICY,
          ORDERS,
          1,
          11,
          bytes("{\"id\":11}"),
          bytes("{\"op\":\"u\",\"after\":{\"id\":11,\"email\":\"" + SECRET + "\"}}"));
  private static final Original GLOBEX_VIEW_UNDECODABLE =
      new Original(
          "t01-globex",
          QuarantineReason.UNDECODABLE_JSON,
          PAGE_VIEWS,
          0,
          5,
          bytes("t01-globex"),
          concat(bytes("not json " + SECRET + " "), new byte[] {0, (byte) 0xff, (byte) 0xfe, 1}));
  private static final Original GLOBEX_VIEW_KEYLESS =
      new Original(
          "t01-globex",
          QuarantineReason.NO_POLICY,
          PAGE_VIEWS,
          1,
          7,
          null,
          bytes("{\"op\":\"c\",\"after\":{\"ip\":\"" + SECRET + "\"}}"));
  private static final Original NO_TENANT_ORDER =
      new Original(
          null,
          QuarantineReason.INVALID_TENANT_ID,
          ORDERS,
          0,
          3,
          bytes("{\"id\":3}"),
          bytes("{\"after\":{\"tenant_id\":\"" + SECRET + "\"}}"));

  /** Written in a transaction that is aborted: invisible to read_committed. */
  private static final Original ABORTED =
      new Original(
          "t00-acme",
          QuarantineReason.NO_POLICY,
          ORDERS,
          1,
          12,
          bytes("{\"id\":12}"),
          bytes("{\"aborted\":\"" + SECRET + "\"}"));

  /** Its value is sealed for another origin, so it does not open. */
  private static final Original INITECH_TAMPERED =
      new Original(
          "t02-initech",
          QuarantineReason.NO_POLICY,
          ORDERS,
          0,
          99,
          bytes("{\"id\":99}"),
          bytes("{\"id\":99,\"email\":\"" + SECRET + "\"}"));

  private static final Original INITECH_FINE =
      new Original(
          "t02-initech",
          QuarantineReason.NO_POLICY,
          ORDERS,
          0,
          100,
          bytes("{\"id\":100}"),
          bytes("{\"id\":100,\"email\":\"" + SECRET + "\"}"));

  /** From a topic that no longer exists. */
  private static final Original UMBRELLA_GONE =
      new Original(
          "t03-umbrella",
          QuarantineReason.NO_POLICY,
          "replay-it.gone",
          0,
          1,
          bytes("{\"id\":1}"),
          bytes("{\"id\":1,\"email\":\"" + SECRET + "\"}"));

  @TempDir static Path tmp;

  private static LocalKafka kafka;
  private static Map<String, String> keySettings;

  @BeforeAll
  static void quarantineSomeRecords() throws Exception {
    kafka = LocalKafka.start();
    kafka.createTopic(QUARANTINE, 2);
    kafka.createTopic(ORDERS, 2);
    kafka.createTopic(PAGE_VIEWS, 2);
    keySettings =
        DevSecrets.create(tmp.resolve("secrets"), List.of("t00-acme", "t01-globex", "t02-initech"));

    try (KeyProvider keys = DevSecrets.open(keySettings);
        KafkaProducer<byte[], byte[]> producer = transactionalProducer()) {
      QuarantineCipher cipher =
          new QuarantineCipher(
              DevSecrets.QUARANTINE_KEY_ID, keys.quarantineKey(DevSecrets.QUARANTINE_KEY_ID));
      producer.initTransactions();
      producer.beginTransaction();
      // Out of origin order on purpose: the replay must restore it.
      for (Original o :
          List.of(
              ACME_ORDER_11,
              GLOBEX_VIEW_UNDECODABLE,
              ACME_ORDER_10,
              NO_TENANT_ORDER,
              GLOBEX_VIEW_KEYLESS,
              INITECH_FINE,
              UMBRELLA_GONE)) {
        producer.send(quarantined(o, cipher, o.origin()));
      }
      producer.send(
          quarantineRecord(
              QuarantineRecord.newBuilder()
                  .setQuarantineId("sink-guard-1")
                  .setReasonCode(QuarantineReason.SINK_GUARD_MISMATCH.name())
                  .setReason("lake record x refused: names t01-globex")
                  .setTenantId("t00-acme")
                  .setOriginTopic("sink:lake")
                  .setOriginPartition(0)
                  .setOriginOffset(-1L)
                  .setOriginTimestamp(Instant.now())
                  .setExportVersion(1)
                  .setJobVersion("it")
                  .build()));
      producer.send(quarantined(INITECH_TAMPERED, cipher, ORDERS + "/0@98"));
      producer.commitTransaction();

      producer.beginTransaction();
      producer.send(quarantined(ABORTED, cipher, ABORTED.origin()));
      producer.flush(); // in the log, then aborted: read_uncommitted would see it
      producer.abortTransaction();
    }
  }

  @AfterAll
  static void stopKafka() {
    if (kafka != null) {
      kafka.close();
    }
  }

  private static KafkaProducer<byte[], byte[]> transactionalProducer() {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "replay-it-job");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return new KafkaProducer<>(p);
  }

  /** As the job quarantines {@code o}: its key and value sealed to {@code sealedFor}. */
  private static ProducerRecord<byte[], byte[]> quarantined(
      Original o, QuarantineCipher cipher, String sealedFor) {
    return quarantineRecord(
        QuarantineRecord.newBuilder()
            .setQuarantineId("q-" + o.origin())
            .setReasonCode(o.reason().name())
            .setReason("refused: " + o.reason())
            .setTenantId(o.tenant())
            .setOriginTopic(o.topic())
            .setOriginPartition(o.partition())
            .setOriginOffset(o.offset())
            .setOriginTimestamp(Instant.now())
            .setKey(sealed(cipher, o.key(), Quarantines.sealedAs(sealedFor, "key")))
            .setValue(sealed(cipher, o.value(), Quarantines.sealedAs(sealedFor, "value")))
            .setExportVersion(1)
            .setJobVersion("it")
            .build());
  }

  private static ByteBuffer sealed(QuarantineCipher cipher, byte[] plain, String sealedAs) {
    return plain == null ? null : ByteBuffer.wrap(cipher.seal(plain, sealedAs));
  }

  /** Keyed by tenant and rendered as JSON, as the job's quarantine sink writes. */
  private static ProducerRecord<byte[], byte[]> quarantineRecord(QuarantineRecord q) {
    byte[] key = q.getTenantId() == null ? null : q.getTenantId().toString().getBytes(UTF_8);
    return new ProducerRecord<>(QUARANTINE, key, AvroJson.toJson(q));
  }

  private record Run(int status, String out, String err) {}

  /** The CLI with the shipped job file, pointed at the embedded broker and the dev keystore. */
  private static Run cli(String... args) {
    List<String> line = new ArrayList<>(List.of(args));
    line.addAll(
        List.of(
            "--config",
            JOB_FILE.toString(),
            "--kafka.bootstrap_servers=" + kafka.bootstrapServers(),
            "--kafka.quarantine_topic=" + QUARANTINE));
    keySettings.forEach((k, v) -> line.add("--" + k + "=" + v));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        TenantExportCli.run(
            line.toArray(String[]::new),
            new PrintStream(out, true, UTF_8),
            new PrintStream(err, true, UTF_8),
            Map.of());
    Run run = new Run(status, out.toString(UTF_8), err.toString(UTF_8));
    assertNoPayloadIn(run);
    return run;
  }

  private static void assertNoPayloadIn(Run run) {
    for (String printed : List.of(run.out(), run.err())) {
      assertThat(printed)
          .doesNotContain(SECRET)
          .doesNotContain("\"email\"")
          .doesNotContain("{\"id\"");
      for (Original o :
          List.of(ACME_ORDER_10, ACME_ORDER_11, GLOBEX_VIEW_UNDECODABLE, NO_TENANT_ORDER)) {
        assertThat(printed).doesNotContain(Base64.getEncoder().encodeToString(o.value()));
      }
    }
  }

  /** Every record of the origin topics from {@code before} on, by topic-partition. */
  private static Map<String, List<ConsumerRecord<byte[], byte[]>>> appendedSince(
      Map<TopicPartition, Long> before) {
    Map<String, List<ConsumerRecord<byte[], byte[]>>> m = new TreeMap<>();
    for (String topic : List.of(ORDERS, PAGE_VIEWS)) {
      for (ConsumerRecord<byte[], byte[]> r : kafka.readAll(topic, true, READ_TIMEOUT)) {
        if (r.offset() >= before.get(new TopicPartition(r.topic(), r.partition()))) {
          m.computeIfAbsent(r.topic() + "/" + r.partition(), k -> new ArrayList<>()).add(r);
        }
      }
    }
    return m;
  }

  private static Map<TopicPartition, Long> originEnds() {
    Map<TopicPartition, Long> m = new LinkedHashMap<>(kafka.endOffsets(ORDERS));
    m.putAll(kafka.endOffsets(PAGE_VIEWS));
    return m;
  }

  /** The records as (key, value) strings, base64, to compare bytes exactly. */
  private static List<String> payloads(List<ConsumerRecord<byte[], byte[]>> records) {
    return records.stream().map(r -> b64(r.key()) + "|" + b64(r.value())).toList();
  }

  private static List<String> payloads(Original... originals) {
    return Stream.of(originals).map(o -> b64(o.key()) + "|" + b64(o.value())).toList();
  }

  @Test
  void replaysTheSelectedRecordsOriginalBytesToTheirOriginalPartitionInOriginOrder() {
    Map<TopicPartition, Long> before = originEnds();

    Run run = cli("quarantine", "replay", "--tenant", "t00-acme", "--reason", "NO_POLICY");

    assertThat(run.status()).as(run.err()).isZero();
    Map<String, List<ConsumerRecord<byte[], byte[]>>> appended = appendedSince(before);
    // Not the aborted ACME order 12, not the sink guard's record, nothing of other tenants.
    assertThat(appended).containsOnlyKeys(ORDERS + "/1");
    assertThat(payloads(appended.get(ORDERS + "/1")))
        .containsExactlyElementsOf(payloads(ACME_ORDER_10, ACME_ORDER_11));
    assertThat(run.out())
        .contains(
            "replayed " + ACME_ORDER_10.origin() + " -> " + ORDERS + "/1@",
            "replayed " + ACME_ORDER_11.origin() + " -> " + ORDERS + "/1@",
            "replayed 2 record(s)",
            "by reason: NO_POLICY 2",
            "by tenant: tenant t00-acme 2")
        .doesNotContain(ABORTED.origin());
  }

  @Test
  void filtersByOriginTopicAndReplaysNullKeysAndBinaryValuesExactly() {
    Map<TopicPartition, Long> before = originEnds();

    Run run = cli("quarantine", "replay", "--origin-topic", PAGE_VIEWS);

    assertThat(run.status()).as(run.err()).isZero();
    Map<String, List<ConsumerRecord<byte[], byte[]>>> appended = appendedSince(before);
    assertThat(appended).containsOnlyKeys(PAGE_VIEWS + "/0", PAGE_VIEWS + "/1");
    assertThat(payloads(appended.get(PAGE_VIEWS + "/0")))
        .containsExactlyElementsOf(payloads(GLOBEX_VIEW_UNDECODABLE));
    assertThat(payloads(appended.get(PAGE_VIEWS + "/1")))
        .containsExactlyElementsOf(payloads(GLOBEX_VIEW_KEYLESS));
    assertThat(appended.get(PAGE_VIEWS + "/1").get(0).key()).isNull();
    assertThat(run.out())
        .contains("by reason: NO_POLICY 1, UNDECODABLE_JSON 1", "by tenant: tenant t01-globex 2");
  }

  @Test
  void aLimitReplaysOnlyTheFirstRecordsInOriginOrder() {
    Map<TopicPartition, Long> before = originEnds();

    Run run =
        cli(
            "quarantine",
            "replay",
            "--origin-topic",
            ORDERS,
            "--reason",
            "INVALID_TENANT_ID",
            "--reason",
            "no_policy",
            "--tenant",
            "t00-acme",
            "--limit",
            "1");

    assertThat(run.status()).as(run.err()).isZero();
    assertThat(payloads(appendedSince(before).get(ORDERS + "/1")))
        .containsExactlyElementsOf(payloads(ACME_ORDER_10));
    assertThat(appendedSince(before)).containsOnlyKeys(ORDERS + "/1");
    assertThat(run.out()).contains("1 to replay", "1 left for later (--limit)");
  }

  @Test
  void aRecordWithoutTenantIsSelectedByReason() {
    Map<TopicPartition, Long> before = originEnds();

    Run run = cli("quarantine", "replay", "--reason", "INVALID_TENANT_ID");

    assertThat(run.status()).as(run.err()).isZero();
    assertThat(appendedSince(before)).containsOnlyKeys(ORDERS + "/0");
    assertThat(payloads(appendedSince(before).get(ORDERS + "/0")))
        .containsExactlyElementsOf(payloads(NO_TENANT_ORDER));
    assertThat(run.out()).contains("by tenant: no tenant 1");
  }

  @Test
  void aDryRunPrintsWhatItWouldReplayAndProducesNothing() {
    Map<TopicPartition, Long> before = originEnds();

    Run run = cli("quarantine", "replay", "--tenant", "t00-acme", "--dry-run");

    assertThat(run.status()).as(run.err()).isZero();
    assertThat(originEnds()).isEqualTo(before);
    assertThat(run.out())
        .contains(
            "would replay " + ACME_ORDER_10.origin() + " (tenant t00-acme, NO_POLICY)",
            "would replay " + ACME_ORDER_11.origin() + " (tenant t00-acme, NO_POLICY)",
            "skipped sink:lake/0@-1 (tenant t00-acme, SINK_GUARD_MISMATCH",
            "dry run, nothing produced: would replay 2 record(s)")
        .doesNotContain(ABORTED.origin())
        .doesNotContain("replayed " + ACME_ORDER_10.origin());
  }

  @Test
  void aPayloadThatDoesNotOpenStopsTheWholeReplay() {
    Map<TopicPartition, Long> before = originEnds();

    Run run = cli("quarantine", "replay", "--tenant", "t02-initech");

    assertThat(run.status()).isEqualTo(TenantExportCli.FAILED);
    // INITECH_FINE opens, but is not replayed without the tampered record before it.
    assertThat(originEnds()).isEqualTo(before);
    assertThat(run.err())
        .contains(INITECH_TAMPERED.origin() + "#key", "authentication failed")
        .contains("nothing replayed");
  }

  @Test
  void aMissingOriginTopicStopsTheReplay() {
    Run run = cli("quarantine", "replay", "--tenant", "t03-umbrella");

    assertThat(run.status()).isEqualTo(TenantExportCli.FAILED);
    assertThat(run.err())
        .contains("origin topic 'replay-it.gone' does not exist", "nothing replayed");
  }

  @Test
  void publishSendsEachPolicyFileToTheControlTopicKeyedByTenant() throws Exception {
    String topic = "publish-it.policies";
    kafka.createTopic(topic, 1);

    Run run = cli("policy", "publish", POLICIES.toString(), "--policy.control_topic=" + topic);

    assertThat(run.status()).as(run.err()).isZero();
    Map<String, String> expected = new TreeMap<>();
    try (Stream<Path> files = Files.list(POLICIES)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".yaml")).toList()) {
        String name = f.getFileName().toString();
        expected.put(name.substring(0, name.length() - ".yaml".length()), Files.readString(f));
      }
    }
    Map<String, String> published = new TreeMap<>();
    List<ConsumerRecord<byte[], byte[]>> records = kafka.readAll(topic, true, READ_TIMEOUT);
    records.forEach(r -> published.put(new String(r.key(), UTF_8), new String(r.value(), UTF_8)));
    assertThat(records).hasSize(expected.size());
    assertThat(published).isEqualTo(expected);
    assertThat(run.out())
        .contains("published t00-acme version 1 to " + topic + "/0@")
        .contains("published " + expected.size() + " of " + expected.size() + " policy file(s)");
  }

  @Test
  void publishOfNamedTenantsSendsOnlyTheirs() throws Exception {
    String topic = "publish-it.some-policies";
    kafka.createTopic(topic, 2);

    Run run =
        cli(
            "policy",
            "publish",
            POLICIES.toString(),
            "--tenant",
            "t01-globex",
            "--tenant",
            "t00-acme",
            "--policy.control_topic=" + topic);

    assertThat(run.status()).as(run.err()).isZero();
    Map<String, String> published = new TreeMap<>();
    kafka
        .readAll(topic, true, READ_TIMEOUT)
        .forEach(r -> published.put(new String(r.key(), UTF_8), new String(r.value(), UTF_8)));
    assertThat(published)
        .containsOnlyKeys("t00-acme", "t01-globex")
        .containsEntry("t01-globex", Files.readString(POLICIES.resolve("t01-globex.yaml")));
  }

  @Test
  void publishToAMissingControlTopicFailsNamingIt() {
    Run run =
        cli("policy", "publish", POLICIES.toString(), "--policy.control_topic=publish-it.missing");

    assertThat(run.status()).isEqualTo(TenantExportCli.FAILED);
    assertThat(run.err())
        .contains("topic 'publish-it.missing' (policy.control_topic) does not exist at");
  }

  private static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] c = new byte[a.length + b.length];
    System.arraycopy(a, 0, c, 0, a.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  private static String b64(byte[] b) {
    return b == null ? "null" : Base64.getEncoder().encodeToString(b);
  }
}
