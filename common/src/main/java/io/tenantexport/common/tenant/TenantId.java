package io.tenantexport.common.tenant;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A validated tenant id: the only form in which a tenant may reach a path, a SQL value or a Kafka
 * key.
 *
 * <p>Invariant: {@link #value()} matches {@link #PATTERN}: 1 to {@value #MAX_LENGTH} characters of
 * lower-case ASCII letters, digits, {@code -} and {@code _}, starting with a letter or digit. That
 * excludes path separators, dots, quotes, whitespace, upper case and every non-ASCII look-alike, so
 * {@code tenant_id=<id>/} can never escape its partition and an id never needs quoting.
 */
public final class TenantId implements Comparable<TenantId> {
  public static final int MAX_LENGTH = 64;
  public static final Pattern PATTERN =
      Pattern.compile("[a-z0-9][a-z0-9_-]{0," + (MAX_LENGTH - 1) + "}");

  private final String value;

  private TenantId(String value) {
    this.value = value;
  }

  /**
   * Validates {@code raw}.
   *
   * @param where names the origin of the value for the error message, e.g. "record key of
   *     orders/0@17"
   * @throws InvalidTenantIdException naming the problem, the (escaped, truncated) value and where
   */
  public static TenantId of(String raw, String where) {
    String problem = problem(raw);
    if (problem != null) {
      throw new InvalidTenantIdException(
          "invalid tenant id " + describe(raw) + " in " + where + ": " + problem);
    }
    return new TenantId(raw);
  }

  public static boolean isValid(String raw) {
    return problem(raw) == null;
  }

  /** Why {@code raw} is not a tenant id, or null when it is one. */
  public static String problem(String raw) {
    if (raw == null) {
      return "missing";
    }
    if (raw.isEmpty()) {
      return "empty";
    }
    if (raw.length() > MAX_LENGTH) {
      return "longer than " + MAX_LENGTH + " characters (" + raw.length() + ")";
    }
    if (!matchesPattern(raw)) {
      return "must match " + PATTERN.pattern();
    }
    return null;
  }

  /**
   * {@code PATTERN.matcher(raw).matches()} for a string of 1 to {@value #MAX_LENGTH} characters,
   * written out: it runs for every tenant a record names (key and images), and a matcher per call
   * was a measurable share of the decoder's allocation. TenantIdTest holds it to the pattern.
   */
  private static boolean matchesPattern(String raw) {
    char first = raw.charAt(0);
    if (!(first >= 'a' && first <= 'z' || first >= '0' && first <= '9')) {
      return false;
    }
    for (int i = 1; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /**
   * A printable, bounded rendering of an untrusted value for messages: quoted, escaped, cut at 80.
   */
  public static String describe(String raw) {
    if (raw == null) {
      return "null";
    }
    StringBuilder sb = new StringBuilder("\"");
    int shown = Math.min(raw.length(), 80);
    for (int i = 0; i < shown; i++) {
      char c = raw.charAt(i);
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        sb.append(c);
      } else {
        sb.append(String.format("\\u%04x", (int) c));
      }
    }
    sb.append('"');
    if (raw.length() > shown) {
      sb.append("...(").append(raw.length()).append(" chars)");
    }
    return sb.toString();
  }

  public String value() {
    return value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TenantId && ((TenantId) o).value.equals(value);
  }

  @Override
  public int hashCode() {
    return Objects.hash(value);
  }

  @Override
  public int compareTo(TenantId o) {
    return value.compareTo(o.value);
  }

  @Override
  public String toString() {
    return value;
  }
}
