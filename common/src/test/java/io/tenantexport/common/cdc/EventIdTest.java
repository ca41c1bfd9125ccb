package io.tenantexport.common.cdc;

import static io.tenantexport.common.cdc.Fixtures.ORDERS_TOPIC;
import static io.tenantexport.common.cdc.Fixtures.SPEC;
import static io.tenantexport.common.cdc.Fixtures.json;
import static io.tenantexport.common.cdc.Fixtures.obj;
import static io.tenantexport.common.cdc.Fixtures.record;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.NotSerializableException;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Event ids: deterministic, and with a key no oracle for the values behind them. */
class EventIdTest {
  private static final byte[] KEY = new byte[32];
  private static final byte[] OTHER_KEY = new byte[32];

  static {
    Arrays.fill(KEY, (byte) 7);
    Arrays.fill(OTHER_KEY, (byte) 9);
  }

  private static String id(CdcDecoder decoder, ObjectNode envelope) {
    DecodeResult r = decoder.decode(record(ORDERS_TOPIC, 5, "acme", envelope));
    assertThat(r).isInstanceOf(DecodeResult.Decoded.class);
    return ((DecodeResult.Decoded) r).event().getEventId();
  }

  /**
   * Event ids hash images as the compact JSON of a tree with the columns sorted; the direct writer
   * must give the same characters, or ids (kept in state, compared on replay) would change.
   */
  @Test
  void imagesAreWrittenExactlyAsTheirSortedTreeWas() throws Exception {
    Random random = new Random(42);
    String alphabet = "aZ09 _-.:\"\\/\b\f\n\r\t\u0000\u001f\u007f\u00e9\u2028\u20ac\ud83d\ude00";
    for (int i = 0; i < 2000; i++) {
      Map<String, String> image = new LinkedHashMap<>();
      for (int c = random.nextInt(12); c > 0; c--) {
        image.put(
            randomText(random, alphabet, 1 + random.nextInt(8)),
            random.nextInt(6) == 0 ? null : randomText(random, alphabet, random.nextInt(40)));
      }
      ObjectNode tree = CdcDecoder.JSON.createObjectNode();
      new TreeMap<>(image).forEach(tree::put);
      assertThat(CdcDecoder.sortedJson(image)).isEqualTo(CdcDecoder.JSON.writeValueAsString(tree));
    }
    assertThat(CdcDecoder.sortedJson(null)).isEqualTo("null");
    assertThat(CdcDecoder.sortedJson(Map.of())).isEqualTo("{}");
  }

  private static String randomText(Random random, String alphabet, int length) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < length; i++) {
      b.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  @Test
  void aKeyedIdIsDeterministicAndDependsOnTheImagesAndTheKey() {
    ObjectNode insert = json("pg-orders-create.json");
    CdcDecoder keyed = new CdcDecoder(SPEC, KEY);
    String id = id(keyed, insert);
    assertThat(id(new CdcDecoder(SPEC, KEY), insert)).isEqualTo(id);
    assertThat(id(new CdcDecoder(SPEC, OTHER_KEY), insert)).isNotEqualTo(id);

    ObjectNode changed = insert.deepCopy();
    obj(changed, "/payload/after").put("status", "shipped");
    assertThat(id(keyed, changed)).isNotEqualTo(id);
  }

  @Test
  void withoutTheKeyAGuessOfTheImageCannotBeConfirmed() {
    ObjectNode insert = json("pg-orders-create.json");
    // The unkeyed id is what anyone can recompute from a guessed image; the keyed one differs.
    assertThat(id(new CdcDecoder(SPEC, KEY), insert))
        .isNotEqualTo(id(new CdcDecoder(SPEC), insert));
  }

  @Test
  void aKeyedDecoderRefusesToBeSerializedAndShortKeysAreRefused() {
    assertThatThrownBy(
            () ->
                new ObjectOutputStream(new ByteArrayOutputStream())
                    .writeObject(new CdcDecoder(SPEC, KEY)))
        .isInstanceOf(NotSerializableException.class);
    assertThatThrownBy(() -> new CdcDecoder(SPEC, new byte[8]))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
