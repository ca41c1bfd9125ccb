package io.tenantexport.common.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tenantexport.common.tenant.TenantId;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class QuarantineCipherTest {
  private static final String ORIGIN = "orders/3@1042";
  private static final byte[] VALUE =
      "{\"tenant_id\":\"acme\",\"email\":\"jane@example.com\"}".getBytes(StandardCharsets.UTF_8);
  private static final byte[] KEY_BYTES = NoKeyMaterial.material(9);
  private static final SecretKey KEY = new SecretKeySpec(KEY_BYTES, "AES");

  private final QuarantineCipher cipher = new QuarantineCipher("q1", KEY);

  /** Where the nonce sits in a payload sealed under key id "q1". */
  private static byte[] nonceOf(byte[] sealed) {
    return Arrays.copyOfRange(sealed, 4 + 1 + 2, 4 + 1 + 2 + 12);
  }

  @Test
  void sealThenOpenGivesThePlaintextBack() {
    byte[] sealed = cipher.seal(VALUE, ORIGIN);

    assertThat(cipher.open(sealed, ORIGIN)).isEqualTo(VALUE);
    assertThat(cipher.open(cipher.seal(new byte[0], ORIGIN), ORIGIN)).isEmpty();
  }

  @Test
  void theSealedLayoutIsMagicKeyIdNonceCiphertextAndTag() {
    byte[] sealed = cipher.seal(VALUE, ORIGIN);

    assertThat(Arrays.copyOf(sealed, 4)).isEqualTo("TEQ1".getBytes(StandardCharsets.US_ASCII));
    assertThat(sealed[4]).isEqualTo((byte) 2);
    assertThat(new String(sealed, 5, 2, StandardCharsets.US_ASCII)).isEqualTo("q1");
    assertThat(sealed).hasSize(4 + 1 + 2 + 12 + VALUE.length + 16);
    assertThat(new String(sealed, StandardCharsets.ISO_8859_1)).doesNotContain("jane@example.com");
  }

  @Test
  void nullSealsToNullAndOpensToNull() {
    assertThat(cipher.seal(null, ORIGIN)).isNull();
    assertThat(cipher.open(null, ORIGIN)).isNull();
    assertThat(QuarantineCipher.open(null, ORIGIN, keys())).isNull();
  }

  @Test
  void sealingIsDeterministicSoAReplayProducesIdenticalBytes() {
    byte[] first = cipher.seal(VALUE, ORIGIN);
    byte[] again = cipher.seal(VALUE.clone(), ORIGIN);
    byte[] afterRestart =
        new QuarantineCipher("q1", new SecretKeySpec(KEY_BYTES, "AES")).seal(VALUE, ORIGIN);

    assertThat(again).isEqualTo(first);
    assertThat(afterRestart).isEqualTo(first);
  }

  @Test
  void aThreadsKeptCipherSealsExactlyAsAFreshOneWhateverCameBefore() {
    byte[] other = "{\"tenant_id\":\"acme\"}".getBytes(StandardCharsets.UTF_8);
    // Each expected value from a cipher that never sealed anything else.
    byte[] valueHere = new QuarantineCipher("q1", KEY).seal(VALUE, ORIGIN);
    byte[] otherHere = new QuarantineCipher("q1", KEY).seal(other, ORIGIN);
    byte[] valueThere = new QuarantineCipher("q1", KEY).seal(VALUE, "orders/3@1043");

    // Same record twice in a row (the JDK refuses a GCM key and nonce reused), then others between.
    assertThat(cipher.seal(VALUE, ORIGIN)).isEqualTo(valueHere);
    assertThat(cipher.seal(VALUE, ORIGIN)).isEqualTo(valueHere);
    assertThat(cipher.seal(other, ORIGIN)).isEqualTo(otherHere);
    assertThat(cipher.seal(VALUE, "orders/3@1043")).isEqualTo(valueThere);
    assertThat(cipher.seal(VALUE, ORIGIN)).isEqualTo(valueHere);
    assertThat(cipher.open(cipher.seal(other, ORIGIN), ORIGIN)).isEqualTo(other);
  }

  @Test
  void aDifferentPlaintextOrOriginGetsADifferentNonce() {
    byte[] base = nonceOf(cipher.seal(VALUE, ORIGIN));
    byte[] otherValue = VALUE.clone();
    otherValue[otherValue.length - 1] ^= 1;

    assertThat(nonceOf(cipher.seal(otherValue, ORIGIN))).isNotEqualTo(base);
    assertThat(nonceOf(cipher.seal(VALUE, "orders/3@1043"))).isNotEqualTo(base);
    // The origin's length is part of the input, so bytes cannot shift between origin and plaintext.
    assertThat(nonceOf(cipher.seal("3xyz".getBytes(StandardCharsets.UTF_8), "orders/3@104")))
        .isNotEqualTo(
            nonceOf(cipher.seal("xyz".getBytes(StandardCharsets.UTF_8), "orders/3@1043")));
    // Another key derives other nonces from the same input.
    assertThat(
            nonceOf(
                new QuarantineCipher("q1", new SecretKeySpec(NoKeyMaterial.material(10), "AES"))
                    .seal(VALUE, ORIGIN)))
        .isNotEqualTo(base);
  }

  @Test
  void alteringAnyByteMakesOpeningFail() {
    byte[] sealed = cipher.seal(VALUE, ORIGIN);

    for (int i = 0; i < sealed.length; i++) {
      byte[] altered = sealed.clone();
      altered[i] ^= 0x01;
      int position = i;
      assertThatThrownBy(() -> cipher.open(altered, ORIGIN))
          .as("byte %d altered", position)
          .isInstanceOf(SealedPayloadException.class)
          .hasMessageContaining(ORIGIN);
    }
    byte[] truncated = Arrays.copyOf(sealed, sealed.length - 1);
    assertThatThrownBy(() -> cipher.open(truncated, ORIGIN))
        .isInstanceOf(SealedPayloadException.class)
        .hasMessageContaining("authentication failed");
  }

  @Test
  void alteredCiphertextFailsAuthenticationNamingOriginAndKeyIdButNotContents() {
    byte[] altered = cipher.seal(VALUE, ORIGIN);
    altered[20] ^= 0x40;

    assertThatThrownBy(() -> cipher.open(altered, ORIGIN))
        .isInstanceOf(SealedPayloadException.class)
        .hasMessage(
            "cannot open quarantine payload of origin \"orders/3@1042\" with key id q1:"
                + " authentication failed (wrong key, wrong origin or altered bytes)");
  }

  @Test
  void aPayloadMovedToAnotherRecordFails() {
    byte[] sealed = cipher.seal(VALUE, ORIGIN);

    assertThatThrownBy(() -> cipher.open(sealed, "orders/3@1043"))
        .isInstanceOf(SealedPayloadException.class)
        .hasMessageContaining("orders/3@1043")
        .hasMessageContaining("key id q1")
        .hasMessageContaining("authentication failed");
  }

  @Test
  void aWrongKeyFails() {
    byte[] sealed = cipher.seal(VALUE, ORIGIN);
    QuarantineCipher sameIdOtherKey =
        new QuarantineCipher("q1", new SecretKeySpec(NoKeyMaterial.material(10), "AES"));
    QuarantineCipher otherId = new QuarantineCipher("q2", KEY);

    assertThatThrownBy(() -> sameIdOtherKey.open(sealed, ORIGIN))
        .isInstanceOf(SealedPayloadException.class)
        .hasMessageContaining(ORIGIN)
        .hasMessageContaining("key id q1")
        .hasMessageContaining("authentication failed");
    assertThatThrownBy(() -> otherId.open(sealed, ORIGIN))
        .isInstanceOf(SealedPayloadException.class)
        .hasMessageContaining(ORIGIN)
        .hasMessageContaining("sealed with key id q1, this cipher holds key id q2");
  }

  @Test
  void keyIdOfReadsTheIdAndNamesWhatIsWrongWithOtherInput() {
    assertThat(QuarantineCipher.keyIdOf(cipher.seal(VALUE, ORIGIN))).isEqualTo("q1");
    assertThat(
            QuarantineCipher.keyIdOf(new QuarantineCipher("k".repeat(64), KEY).seal(VALUE, ORIGIN)))
        .isEqualTo("k".repeat(64));

    assertThatThrownBy(() -> QuarantineCipher.keyIdOf(null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("not a sealed quarantine payload: null");
    assertThatThrownBy(() -> QuarantineCipher.keyIdOf(new byte[] {'T', 'E'}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("2 bytes, shorter than the 5-byte header");
    assertThatThrownBy(() -> QuarantineCipher.keyIdOf(VALUE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("magic bytes TEQ1");
    assertThatThrownBy(() -> QuarantineCipher.keyIdOf(header(0, "")))
        .hasMessageContaining("key id length 0 outside 1..64");
    assertThatThrownBy(() -> QuarantineCipher.keyIdOf(header(65, "")))
        .hasMessageContaining("key id length 65 outside 1..64");
    assertThatThrownBy(() -> QuarantineCipher.keyIdOf(header(2, "q1")))
        .hasMessageContaining("shorter than the 35 of header, key id, nonce and tag");
    assertThatThrownBy(() -> QuarantineCipher.keyIdOf(Arrays.copyOf(header(2, "Q."), 40)))
        .hasMessageContaining("key id \"Q.\" must match");
  }

  private static byte[] header(int idLength, String id) {
    byte[] bytes = new byte[5 + id.length()];
    System.arraycopy("TEQ1".getBytes(StandardCharsets.US_ASCII), 0, bytes, 0, 4);
    bytes[4] = (byte) idLength;
    System.arraycopy(id.getBytes(StandardCharsets.US_ASCII), 0, bytes, 5, id.length());
    return bytes;
  }

  @Test
  void theStaticOpenLooksUpTheKeyNamedInside() {
    QuarantineCipher q2 =
        new QuarantineCipher("q2", new SecretKeySpec(NoKeyMaterial.material(10), "AES"));
    byte[] underQ1 = cipher.seal(VALUE, ORIGIN);
    byte[] underQ2 = q2.seal(VALUE, ORIGIN);

    assertThat(QuarantineCipher.open(underQ1, ORIGIN, keys())).isEqualTo(VALUE);
    assertThat(QuarantineCipher.open(underQ2, ORIGIN, keys())).isEqualTo(VALUE);
    byte[] underQ3 = new QuarantineCipher("q3", KEY).seal(VALUE, ORIGIN);
    assertThatThrownBy(() -> QuarantineCipher.open(underQ3, ORIGIN, keys()))
        .isInstanceOf(KeyNotFoundException.class)
        .hasMessageContaining(ORIGIN)
        .hasMessageContaining("q3");
  }

  @Test
  void aOneMebibytePayloadRoundTrips() {
    byte[] large = new byte[1 << 20];
    new Random(42).nextBytes(large);

    byte[] sealed = cipher.seal(large, ORIGIN);

    assertThat(sealed).hasSize(4 + 1 + 2 + 12 + large.length + 16);
    assertThat(cipher.open(sealed, ORIGIN)).isEqualTo(large);
    assertThat(cipher.seal(large, ORIGIN)).isEqualTo(sealed);
  }

  @Test
  void oneCipherCanBeSharedBetweenThreads() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Boolean>> results =
          pool.invokeAll(
              java.util.stream.IntStream.range(0, 8)
                  .<java.util.concurrent.Callable<Boolean>>mapToObj(
                      t ->
                          () -> {
                            for (int i = 0; i < 200; i++) {
                              String origin = "orders/" + t + "@" + i;
                              byte[] plain = (origin + " payload").getBytes(StandardCharsets.UTF_8);
                              if (!Arrays.equals(
                                  cipher.open(cipher.seal(plain, origin), origin), plain)) {
                                return false;
                              }
                            }
                            return true;
                          })
                  .toList());
      for (Future<Boolean> result : results) {
        assertThat(result.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void unsuitableKeysAndKeyIdsAreRefusedWithoutShowingTheKey() {
    assertThatThrownBy(() -> new QuarantineCipher("q1", new SecretKeySpec(new byte[16], "AES")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(
            "quarantine key q1: expected an extractable 256-bit AES key, found AES (128 bits)");
    Throwable wrongAlgorithm =
        org.assertj.core.api.Assertions.catchThrowable(
            () -> new QuarantineCipher("q1", new SecretKeySpec(KEY_BYTES, "HmacSHA256")));
    assertThat(wrongAlgorithm).hasMessageContaining("found HmacSHA256");
    NoKeyMaterial.assertAbsent(wrongAlgorithm.toString(), KEY_BYTES);
    NoKeyMaterial.assertAbsent(cipher.toString(), KEY_BYTES);
    assertThatThrownBy(() -> new QuarantineCipher("Q1", KEY))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("invalid key id \"Q1\"");
  }

  private static KeyProvider keys() {
    Map<String, SecretKey> quarantine =
        Map.of("q1", KEY, "q2", new SecretKeySpec(NoKeyMaterial.material(10), "AES"));
    return new KeyProvider() {
      @Override
      public SecretKey tenantKey(TenantId tenant, String keyId) {
        throw new KeyNotFoundException("no tenant keys here");
      }

      @Override
      public SecretKey quarantineKey(String keyId) {
        SecretKey key = quarantine.get(keyId);
        if (key == null) {
          throw new KeyNotFoundException("no quarantine key " + keyId);
        }
        return key;
      }
    };
  }
}
