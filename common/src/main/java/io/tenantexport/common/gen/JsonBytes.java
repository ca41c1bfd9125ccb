package io.tenantexport.common.gen;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A reusable buffer that JSON text is written into directly as UTF-8 bytes: no trees, no
 * intermediate strings. A reused {@link StringBuilder} would turn UTF-16 for good at the first
 * non-Latin-1 name and make every later record slower; this buffer has no such mode.
 */
final class JsonBytes {
  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NULL = {'n', 'u', 'l', 'l'};

  private byte[] buf = new byte[8192];
  private int len;

  JsonBytes reset() {
    len = 0;
    return this;
  }

  int length() {
    return len;
  }

  byte[] toByteArray() {
    return Arrays.copyOf(buf, len);
  }

  /** The first {@code n} bytes: a prefix, possibly cut inside a character. */
  byte[] prefix(int n) {
    return Arrays.copyOf(buf, n);
  }

  @Override
  public String toString() {
    return new String(buf, 0, len, StandardCharsets.UTF_8);
  }

  JsonBytes raw(byte[] bytes) {
    ensure(bytes.length);
    System.arraycopy(bytes, 0, buf, len, bytes.length);
    len += bytes.length;
    return this;
  }

  /**
   * Appends text known to be ASCII and to need no escaping: field names, punctuation, constants.
   */
  JsonBytes ascii(String text) {
    int n = text.length();
    ensure(n);
    for (int i = 0; i < n; i++) {
      buf[len++] = (byte) text.charAt(i);
    }
    return this;
  }

  JsonBytes ascii(char c) {
    ensure(1);
    buf[len++] = (byte) c;
    return this;
  }

  JsonBytes number(long v) {
    if (v == Long.MIN_VALUE) {
      return ascii(Long.toString(v));
    }
    ensure(20);
    if (v < 0) {
      buf[len++] = '-';
      v = -v;
    }
    int start = len;
    do {
      buf[len++] = (byte) ('0' + v % 10);
      v /= 10;
    } while (v != 0);
    for (int i = start, j = len - 1; i < j; i++, j--) {
      byte t = buf[i];
      buf[i] = buf[j];
      buf[j] = t;
    }
    return this;
  }

  /** Appends {@code s} as a JSON string literal in UTF-8, or {@code null}. */
  JsonBytes string(String s) {
    if (s == null) {
      return raw(NULL);
    }
    int n = s.length();
    // Worst case: 6 bytes per char for \\u00XX, 3 bytes per char of UTF-8, plus quotes.
    ensure(6 * n + 2);
    buf[len++] = '"';
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
        buf[len++] = (byte) c;
      } else if (c < 0x80) {
        escape(c);
      } else if (c < 0x800) {
        buf[len++] = (byte) (0xc0 | c >> 6);
        buf[len++] = (byte) (0x80 | c & 0x3f);
      } else if (Character.isHighSurrogate(c)
          && i + 1 < n
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        int cp = Character.toCodePoint(c, s.charAt(++i));
        buf[len++] = (byte) (0xf0 | cp >> 18);
        buf[len++] = (byte) (0x80 | cp >> 12 & 0x3f);
        buf[len++] = (byte) (0x80 | cp >> 6 & 0x3f);
        buf[len++] = (byte) (0x80 | cp & 0x3f);
      } else if (Character.isSurrogate(c)) {
        // A lone surrogate has no UTF-8 form; write U+FFFD as String.getBytes would.
        buf[len++] = (byte) 0xef;
        buf[len++] = (byte) 0xbf;
        buf[len++] = (byte) 0xbd;
      } else {
        buf[len++] = (byte) (0xe0 | c >> 12);
        buf[len++] = (byte) (0x80 | c >> 6 & 0x3f);
        buf[len++] = (byte) (0x80 | c & 0x3f);
      }
    }
    buf[len++] = '"';
    return this;
  }

  private void escape(char c) {
    buf[len++] = '\\';
    switch (c) {
      case '"':
        buf[len++] = '"';
        break;
      case '\\':
        buf[len++] = '\\';
        break;
      case '\n':
        buf[len++] = 'n';
        break;
      case '\r':
        buf[len++] = 'r';
        break;
      case '\t':
        buf[len++] = 't';
        break;
      default:
        buf[len++] = 'u';
        buf[len++] = '0';
        buf[len++] = '0';
        buf[len++] = HEX[c >> 4];
        buf[len++] = HEX[c & 0xf];
    }
  }

  private void ensure(int extra) {
    if (len + extra > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + extra));
    }
  }
}
