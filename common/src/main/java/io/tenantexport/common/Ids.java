package io.tenantexport.common;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Deterministic ids: a replay of the same input must produce the same id, so ids are hashes of what
 * identifies the thing, never random or time-based.
 */
public final class Ids {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  /**
   * One digest per thread for {@link #of}: looking up a provider for every id cost more than the
   * hashing of a short id (windows close with several ids each: rollups, receipts).
   */
  private static final ThreadLocal<MessageDigest> DIGESTS = ThreadLocal.withInitial(Ids::sha256);

  private Ids() {}

  /**
   * Lower-case hex of the first 16 bytes of SHA-256 over the parts, each followed by a 0x1f
   * separator.
   */
  public static String of(String... parts) {
    MessageDigest md = DIGESTS.get();
    md.reset(); // digest() resets it too; this is for a previous call that did not get that far
    for (String p : parts) {
      if (p != null) {
        md.update(p.getBytes(StandardCharsets.UTF_8));
      }
      md.update((byte) 0x1f);
    }
    return hex(md.digest(), 16);
  }

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
  }

  public static String hex(byte[] bytes, int length) {
    char[] out = new char[length * 2];
    for (int i = 0; i < length; i++) {
      out[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
      out[2 * i + 1] = HEX[bytes[i] & 0xf];
    }
    return new String(out);
  }
}
