package io.tenantexport.common.cdc;

import static io.tenantexport.common.cdc.Fixtures.SPEC;
import static io.tenantexport.common.cdc.Fixtures.bytes;
import static io.tenantexport.common.cdc.Fixtures.json;
import static io.tenantexport.common.cdc.Fixtures.payload;
import static io.tenantexport.common.cdc.Fixtures.record;
import static io.tenantexport.common.cdc.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Throws random, truncated and mutated bytes at the decoder: it must answer every one with a
 * result, never an exception, and never through its last-resort "decoder bug" path.
 */
class CdcDecoderFuzzTest {
  private static final long SEED = 20261126L;

  private final CdcDecoder decoder = new CdcDecoder(SPEC);
  private final Random random = new Random(SEED);

  private static List<byte[]> validValues() {
    return List.of(
        bytes(json("pg-orders-create.json")),
        bytes(payload(json("pg-orders-create.json"))),
        bytes(json("pg-orders-update-no-before.json")),
        bytes(json("pg-orders-delete-key-only.json")),
        bytes(json("pg-page-views-snapshot.json")),
        bytes(json("mysql-invoices-create.json")));
  }

  private List<byte[]> keys() {
    return Arrays.asList(
        null,
        utf8("acme"),
        utf8("\"acme\""),
        bytes(json("pg-orders-key.json")),
        utf8("{\"tenant_id\":\"acme\",\"id\":42}"),
        utf8("{\"tenant_id\":"),
        randomBytes(8),
        new byte[0]);
  }

  private byte[] randomBytes(int max) {
    byte[] b = new byte[random.nextInt(max + 1)];
    random.nextBytes(b);
    return b;
  }

  private void assertAnswers(byte[] key, byte[] value) {
    RawRecord r = record("fuzz", random.nextInt(4), random.nextInt(1_000_000), key, value);
    DecodeResult result = decoder.decode(r);

    assertThat(result).as("result for %s", r.origin()).isNotNull();
    if (result instanceof DecodeResult.Rejected rejected) {
      assertThat(rejected.code()).isNotNull();
      assertThat(rejected.reason()).as("reason").isNotBlank().doesNotContain("decoder bug");
    }
  }

  @Test
  void randomBytesNeverMakeItThrow() {
    List<byte[]> keys = keys();
    for (int i = 0; i < 2000; i++) {
      assertAnswers(keys.get(random.nextInt(keys.size())), randomBytes(300));
    }
  }

  @Test
  void everyTruncationOfValidEnvelopesNeverMakesItThrow() {
    List<byte[]> keys = keys();
    int cases = 0;
    for (byte[] value : validValues()) {
      // Every prefix of the shorter envelopes, a stride through the long schema-wrapped ones.
      int step = Math.max(1, value.length / 600);
      for (int n = 0; n <= value.length; n += step) {
        assertAnswers(keys.get(cases++ % keys.size()), Arrays.copyOf(value, n));
      }
    }
    assertThat(cases).isGreaterThan(3000);
  }

  @Test
  void mutatedValidEnvelopesNeverMakeItThrow() {
    List<byte[]> values = validValues();
    List<byte[]> keys = keys();
    byte[] alphabet = utf8("{}[]\":,0123456789-+.eE tfnul\\ABC=/");
    for (int i = 0; i < 3000; i++) {
      byte[] value = values.get(random.nextInt(values.size())).clone();
      int edits = 1 + random.nextInt(4);
      for (int e = 0; e < edits; e++) {
        int at = random.nextInt(value.length);
        value[at] =
            random.nextBoolean()
                ? alphabet[random.nextInt(alphabet.length)]
                : (byte) random.nextInt(256);
      }
      assertAnswers(keys.get(random.nextInt(keys.size())), value);
    }
  }

  /** The offset just after a wrapped envelope's leading schema object, or -1. */
  private static int schemaEnd(byte[] value) throws Exception {
    try (JsonParser p = CdcDecoder.JSON.createParser(value)) {
      if (p.nextToken() != JsonToken.START_OBJECT
          || !"schema".equals(p.nextFieldName())
          || p.nextToken() != JsonToken.START_OBJECT) {
        return -1;
      }
      p.skipChildren();
      return (int) p.currentLocation().getByteOffset();
    }
  }

  /**
   * A decoder skips a topic's last schema without tokenising it when the next record repeats it
   * byte for byte (see {@code CdcDecoder.readEnvelope}): that must change no outcome. Every variant
   * of a wrapped envelope is decoded by a decoder that has just seen the original (same topic) and
   * by a new one; the results, refusal messages included, must be equal. The variants are edited
   * where the shortcut joins the rest of the record (just after the schema), after it and inside
   * it.
   */
  @Test
  void aDecoderThatKnowsTheSchemaAnswersExactlyAsANewOne() throws Exception {
    List<String> junctions =
        List.of(
            "",
            " ",
            "\n\t",
            ",\"schema\":{}",
            ",\"schema\":null",
            ".5",
            "5",
            "e1",
            "}",
            "]",
            ",",
            ",}",
            "\"x\"",
            ",\"payload\":{}",
            ",\"extra\":[1,2]",
            "\u0000",
            "\u00e9",
            " {}",
            "//");
    byte[] alphabet = utf8("{}[]\":,0123456789-+.eE tfnul\\ABC=/");
    byte[] key = utf8("acme");
    CdcDecoder warm = new CdcDecoder(SPEC);
    int wrapped = 0;
    int compared = 0;
    for (byte[] valid : validValues()) {
      int end = schemaEnd(valid);
      if (end < 0) {
        continue;
      }
      wrapped++;
      for (int i = 0; i < 600; i++) {
        byte[] value;
        if (i < junctions.size()) {
          byte[] insert = utf8(junctions.get(i));
          value = new byte[valid.length + insert.length];
          System.arraycopy(valid, 0, value, 0, end);
          System.arraycopy(insert, 0, value, end, insert.length);
          System.arraycopy(valid, end, value, end + insert.length, valid.length - end);
        } else if (i % 5 == 0) {
          value = Arrays.copyOf(valid, end + random.nextInt(valid.length - end + 1));
        } else {
          value = valid.clone();
          // Mostly after the schema (the shortcut applies), sometimes inside it (it must not).
          int from = i % 5 == 1 ? 0 : end;
          for (int e = 1 + random.nextInt(3); e > 0; e--) {
            int at = from + random.nextInt(value.length - from);
            value[at] =
                random.nextBoolean()
                    ? alphabet[random.nextInt(alphabet.length)]
                    : (byte) random.nextInt(256);
          }
        }
        warm.decode(record("fuzz", 0, 0, key, valid));
        RawRecord r = record("fuzz", 0, i + 1, key, value);
        assertThat(warm.decode(r))
            .as("variant %d of a %d-byte envelope", i, valid.length)
            .isEqualTo(new CdcDecoder(SPEC).decode(r));
        compared++;
      }
    }
    assertThat(wrapped).isGreaterThanOrEqualTo(2);
    assertThat(compared).isGreaterThanOrEqualTo(1200);
  }

  @Test
  void structurallyHostileJsonNeverMakesItThrow() {
    List<String> values =
        new ArrayList<>(
            List.of(
                "[".repeat(5000) + "]".repeat(5000),
                "{\"a\":".repeat(3000) + "1" + "}".repeat(3000),
                "{\"op\":\"c\",\"source\":{\"table\":\"orders\"},\"after\":{\"id\":1"
                    + "0".repeat(5000)
                    + "}}",
                "{\"op\":\"c\",\"source\":{\"table\":\"orders\",\"lsn\":1e400},\"after\":{\"id\":1}}",
                "{\"op\":\"c\",\"source\":{\"table\":\"orders\"},\"after\":{\"id\":1,\"amount\":1e-2147483648}}",
                "{\"op\":\"c\",\"source\":{\"table\":\"orders\"},\"after\":{\"id\":1,\"tenant_id\":\"acme\",\"amount\":"
                    + "{\"scale\":-2147483648,\"value\":\"AQ==\"}}}",
                "{\"op\":\"c\",\"source\":{\"table\":\"orders\"},\"after\":{\"id\":1,\"tenant_id\":\"\\ud800\"}}",
                "{\"op\":\"c\",\"source\":{\"table\":\"orders\",\"file\":\"x.999999999999999999999\",\"pos\":1},"
                    + "\"after\":{\"id\":1}}",
                "\u0000\u0000\u0000{}",
                "\uFEFF{\"op\":\"c\"}"));
    for (String v : values) {
      assertAnswers(utf8("acme"), utf8(v));
    }
  }
}
