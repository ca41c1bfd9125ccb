package io.tenantexport.common.keys;

import io.tenantexport.common.tenant.TenantId;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * Seals and opens quarantine payloads (the original Kafka key and value bytes of a refused record)
 * with AES-256-GCM, bound to the record they came from.
 *
 * <p>A sealed payload is:
 *
 * <pre>
 *   "TEQ1"       4 bytes, magic
 *   n            1 byte, length of the key id (1 to 64)
 *   key id       n bytes, ASCII
 *   nonce        12 bytes
 *   ciphertext   as long as the plaintext, then the 16-byte GCM tag
 * </pre>
 *
 * <p>The additional authenticated data is the UTF-8 origin of the record ({@code
 * topic/partition@offset}), so a payload opens only for the record it was sealed for: moved to
 * another record it fails authentication. The key id travels in the clear so that the replay tool
 * finds the key after a rotation ({@link #keyIdOf}); altering it only selects another key, which
 * then fails authentication.
 *
 * <p><b>Deterministic nonce.</b> The job is exactly-once: after a failover it quarantines the same
 * record again, and the output must be byte-identical to the first attempt's, so the nonce cannot
 * be random; a counter would need state and would also differ on replay. The nonce is therefore
 * derived from everything that is sealed, synthetic-IV style (as in SIV, RFC 5297): the first 12
 * bytes of HMAC-SHA256(nonceKey, len(origin) || origin || plaintext), with len the 4-byte
 * big-endian length of the UTF-8 origin (so the boundary between origin and plaintext is
 * unambiguous), and nonceKey = HMAC-SHA256(key, "tenant-export quarantine nonce v1"), computed once
 * per cipher, so the nonce derivation and the encryption use separate keys. Consequences:
 *
 * <ul>
 *   <li>The same (origin, plaintext) under the same key always seals to the same bytes. That
 *       equality is all the scheme reveals beyond lengths, and since an origin names one Kafka
 *       record, it only says that a record was sealed twice.
 *   <li>Different (origin, plaintext) pairs get the same nonce only by a collision of a 96-bit PRF
 *       output, the same odds as random nonces (the birthday bound is near 2^48 payloads per key);
 *       only such a collision would expose GCM's nonce-reuse weakness.
 *   <li>As with random nonces, rotate the key (seal under a new key id) well before 2^32 payloads.
 * </ul>
 *
 * <p>If one record has several sealed parts (key and value), they share the origin: a part moved to
 * another field of the same record still opens. Callers that must tell the parts apart can add the
 * part to the origin (for example {@code orders/0@17#key}).
 *
 * <p>Thread-safe: each thread seals with its own {@link Cipher} and {@link Mac}, kept between calls
 * (the decode operator seals every record it passes on; a new cipher per call spent most of the
 * sealing time in provider look-ups and the AES key schedule). The JDK refuses to re-initialise a
 * GCM cipher for encryption with the key and nonce it used last, which is what sealing the same
 * record twice in a row does: that case takes a fresh cipher. Opening creates its own per call
 * (replay tools, rare). The key is held as a copy that refuses Java serialization; keep the key id,
 * not the cipher, in state.
 */
public final class QuarantineCipher {
  private static final byte[] MAGIC = {'T', 'E', 'Q', '1'};
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BYTES = 16;
  private static final int HEADER_BYTES = MAGIC.length + 1;
  private static final String TRANSFORMATION = "AES/GCM/NoPadding";
  private static final String HMAC = "HmacSHA256";
  private static final byte[] NONCE_LABEL =
      "tenant-export quarantine nonce v1".getBytes(StandardCharsets.US_ASCII);

  private final String keyId;
  private final byte[] keyIdBytes;
  private final SecretKey key;
  private final SecretKey nonceKey;
  private final ThreadLocal<Sealer> sealers = ThreadLocal.withInitial(Sealer::new);

  /**
   * @param keyId the id under which the key is found in the {@link KeyProvider}; written into every
   *     sealed payload
   * @param key a 256-bit AES key whose material can be read ({@link SecretKey#getEncoded()}); it is
   *     copied
   * @throws IllegalArgumentException naming the key id when it or the key is unsuitable
   */
  public QuarantineCipher(String keyId, SecretKey key) {
    this.keyId = KeyIds.require(keyId, "quarantine cipher");
    this.keyIdBytes = keyId.getBytes(StandardCharsets.US_ASCII);
    Objects.requireNonNull(key, "key");
    byte[] material = key.getEncoded();
    if (!"AES".equalsIgnoreCase(key.getAlgorithm())
        || material == null
        || material.length != LocalKeystore.KEY_BYTES) {
      String size = material == null ? "not extractable" : material.length * 8 + " bits";
      if (material != null) {
        Arrays.fill(material, (byte) 0);
      }
      throw new IllegalArgumentException(
          "quarantine key "
              + keyId
              + ": expected an extractable 256-bit AES key, found "
              + key.getAlgorithm()
              + " ("
              + size
              + ")");
    }
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(new HeldKey(HMAC, material.clone(), "quarantine " + keyId));
      this.nonceKey = new HeldKey(HMAC, mac.doFinal(NONCE_LABEL), "quarantine nonce " + keyId);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JVM cannot compute " + HMAC + ": " + e, e);
    }
    this.key = new HeldKey("AES", material, "quarantine " + keyId);
  }

  public String keyId() {
    return keyId;
  }

  /**
   * Seals {@code plaintext} for the record {@code origin}.
   *
   * @param origin {@code topic/partition@offset} of the record the bytes came from
   * @return the sealed payload, or null when {@code plaintext} is null (a tombstone or missing key)
   */
  public byte[] seal(byte[] plaintext, String origin) {
    if (plaintext == null) {
      return null;
    }
    byte[] aad = originBytes(origin);
    Sealer sealer = sealers.get();
    byte[] nonce = sealer.nonce(aad, plaintext);
    int offset = HEADER_BYTES + keyIdBytes.length;
    byte[] sealed = new byte[offset + NONCE_BYTES + plaintext.length + TAG_BYTES];
    System.arraycopy(MAGIC, 0, sealed, 0, MAGIC.length);
    sealed[MAGIC.length] = (byte) keyIdBytes.length;
    System.arraycopy(keyIdBytes, 0, sealed, HEADER_BYTES, keyIdBytes.length);
    System.arraycopy(nonce, 0, sealed, offset, NONCE_BYTES);
    try {
      Cipher cipher = sealer.encryptor(nonce);
      cipher.updateAAD(aad);
      cipher.doFinal(plaintext, 0, plaintext.length, sealed, offset + NONCE_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          "cannot seal quarantine payload of " + describe(origin) + " with key id " + keyId, e);
    }
    return sealed;
  }

  /**
   * Opens a payload sealed with this cipher's key for {@code origin}.
   *
   * @return the plaintext, or null when {@code sealed} is null
   * @throws SealedPayloadException naming the origin and key ids when the payload is malformed, was
   *     sealed under another key id, or fails authentication (wrong key, wrong origin or altered
   *     bytes)
   */
  public byte[] open(byte[] sealed, String origin) {
    if (sealed == null) {
      return null;
    }
    byte[] aad = originBytes(origin);
    String context = "cannot open quarantine payload of " + describe(origin);
    String sealedKeyId = parseKeyId(sealed, context + ": ");
    if (!sealedKeyId.equals(keyId)) {
      throw new SealedPayloadException(
          context + ": sealed with key id " + sealedKeyId + ", this cipher holds key id " + keyId);
    }
    int offset = HEADER_BYTES + keyIdBytes.length;
    try {
      Cipher cipher =
          cipher(Cipher.DECRYPT_MODE, Arrays.copyOfRange(sealed, offset, offset + NONCE_BYTES));
      cipher.updateAAD(aad);
      return cipher.doFinal(sealed, offset + NONCE_BYTES, sealed.length - offset - NONCE_BYTES);
    } catch (AEADBadTagException e) {
      throw new SealedPayloadException(
          context
              + " with key id "
              + keyId
              + ": authentication failed (wrong key, wrong origin or altered bytes)",
          e);
    } catch (GeneralSecurityException e) {
      throw new SealedPayloadException(context + " with key id " + keyId + ": " + e, e);
    }
  }

  /**
   * Opens {@code sealed} with the key named inside it, looked up in {@code keys}.
   *
   * @return the plaintext, or null when {@code sealed} is null
   * @throws SealedPayloadException as {@link #open(byte[], String)}
   * @throws KeyNotFoundException naming the origin and the key id when {@code keys} lacks the key
   */
  public static byte[] open(byte[] sealed, String origin, KeyProvider keys) {
    Objects.requireNonNull(keys, "keys");
    if (sealed == null) {
      return null;
    }
    originBytes(origin);
    String keyId =
        parseKeyId(sealed, "cannot open quarantine payload of " + describe(origin) + ": ");
    SecretKey key;
    try {
      key = keys.quarantineKey(keyId);
    } catch (KeyNotFoundException e) {
      KeyNotFoundException named =
          new KeyNotFoundException(
              "cannot open quarantine payload of " + describe(origin) + ": " + e.getMessage());
      named.initCause(e);
      throw named;
    }
    return new QuarantineCipher(keyId, key).open(sealed, origin);
  }

  /**
   * The id of the key {@code sealed} was sealed with.
   *
   * @throws SealedPayloadException (an {@link IllegalArgumentException}) naming the problem when
   *     {@code sealed} is not a sealed quarantine payload
   */
  public static String keyIdOf(byte[] sealed) {
    return parseKeyId(sealed, "not a sealed quarantine payload: ");
  }

  private static String parseKeyId(byte[] sealed, String context) {
    if (sealed == null) {
      throw new SealedPayloadException(context + "null");
    }
    if (sealed.length < HEADER_BYTES) {
      throw new SealedPayloadException(
          context + sealed.length + " bytes, shorter than the " + HEADER_BYTES + "-byte header");
    }
    if (!Arrays.equals(sealed, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new SealedPayloadException(context + "does not start with the magic bytes TEQ1");
    }
    int idLength = sealed[MAGIC.length] & 0xff;
    if (idLength < 1 || idLength > KeyIds.MAX_LENGTH) {
      throw new SealedPayloadException(
          context + "key id length " + idLength + " outside 1.." + KeyIds.MAX_LENGTH);
    }
    int minimum = HEADER_BYTES + idLength + NONCE_BYTES + TAG_BYTES;
    if (sealed.length < minimum) {
      throw new SealedPayloadException(
          context
              + sealed.length
              + " bytes, shorter than the "
              + minimum
              + " of header, key id, nonce and tag");
    }
    String keyId = new String(sealed, HEADER_BYTES, idLength, StandardCharsets.ISO_8859_1);
    String problem = KeyIds.problem(keyId);
    if (problem != null) {
      throw new SealedPayloadException(
          context + "key id " + TenantId.describe(keyId) + " " + problem);
    }
    return keyId;
  }

  /** One thread's sealing tools: a keyed HMAC for the nonces and the AES-GCM cipher. */
  private final class Sealer {
    private final Mac mac;
    private Cipher cipher;
    private byte[] lastNonce;

    Sealer() {
      try {
        mac = Mac.getInstance(HMAC);
        mac.init(nonceKey);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("the JVM cannot compute " + HMAC + ": " + e, e);
      }
    }

    /** The synthetic nonce (see the class comment); {@code doFinal} leaves the mac keyed. */
    byte[] nonce(byte[] aad, byte[] plaintext) {
      mac.update((byte) (aad.length >>> 24));
      mac.update((byte) (aad.length >>> 16));
      mac.update((byte) (aad.length >>> 8));
      mac.update((byte) aad.length);
      mac.update(aad);
      mac.update(plaintext);
      return Arrays.copyOf(mac.doFinal(), NONCE_BYTES);
    }

    /** This thread's cipher, initialised to encrypt with {@code nonce}. */
    Cipher encryptor(byte[] nonce) throws GeneralSecurityException {
      if (cipher == null || Arrays.equals(nonce, lastNonce)) {
        cipher = Cipher.getInstance(TRANSFORMATION); // the JDK refuses a key and nonce reused
      }
      lastNonce = null; // a failed init leaves the cipher without a nonce
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, nonce));
      lastNonce = nonce;
      return cipher;
    }
  }

  private Cipher cipher(int mode, byte[] nonce) throws GeneralSecurityException {
    Cipher cipher = Cipher.getInstance(TRANSFORMATION);
    cipher.init(mode, key, new GCMParameterSpec(TAG_BYTES * 8, nonce));
    return cipher;
  }

  private static byte[] originBytes(String origin) {
    return Objects.requireNonNull(origin, "origin").getBytes(StandardCharsets.UTF_8);
  }

  private static String describe(String origin) {
    return "origin " + TenantId.describe(origin);
  }

  @Override
  public String toString() {
    return "QuarantineCipher[keyId=" + keyId + "]";
  }
}
