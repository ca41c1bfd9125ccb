package io.tenantexport.common.keys;

import io.tenantexport.common.tenant.TenantId;
import java.util.regex.Pattern;

/**
 * Key ids: how configuration, policies and sealed payloads name a key without holding it.
 *
 * <p>A key id has the shape of a tenant id: 1 to {@value #MAX_LENGTH} characters of lower-case
 * ASCII letters, digits, {@code -} and {@code _}, starting with a letter or digit. It contains no
 * dot, so a keystore alias {@code tenant.<tenant-id>.<key-id>} splits unambiguously, and it fits
 * the one-byte length field of a sealed quarantine payload.
 */
public final class KeyIds {
  public static final int MAX_LENGTH = 64;
  public static final Pattern PATTERN =
      Pattern.compile("[a-z0-9][a-z0-9_-]{0," + (MAX_LENGTH - 1) + "}");

  private KeyIds() {}

  /** Why {@code keyId} is not a key id, or null when it is one. */
  public static String problem(String keyId) {
    if (keyId == null) {
      return "missing";
    }
    if (keyId.isEmpty()) {
      return "empty";
    }
    if (keyId.length() > MAX_LENGTH) {
      return "longer than " + MAX_LENGTH + " characters (" + keyId.length() + ")";
    }
    if (!PATTERN.matcher(keyId).matches()) {
      return "must match " + PATTERN.pattern();
    }
    return null;
  }

  public static boolean isValid(String keyId) {
    return problem(keyId) == null;
  }

  /**
   * Returns {@code keyId} if valid.
   *
   * @param where names the origin of the value for the error message
   * @throws IllegalArgumentException naming the (escaped, truncated) value, where and the problem
   */
  public static String require(String keyId, String where) {
    String problem = problem(keyId);
    if (problem != null) {
      throw new IllegalArgumentException(
          "invalid key id " + TenantId.describe(keyId) + " in " + where + ": " + problem);
    }
    return keyId;
  }
}
