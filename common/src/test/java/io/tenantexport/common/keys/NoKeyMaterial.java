package io.tenantexport.common.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Base64;
import java.util.HexFormat;

/** Asserts that text shows no key material in the usual renderings: hex and base64. */
final class NoKeyMaterial {
  private NoKeyMaterial() {}

  static void assertAbsent(String text, byte[] material) {
    String hex = HexFormat.of().formatHex(material);
    String base64 = Base64.getEncoder().withoutPadding().encodeToString(material);
    String base64Url = Base64.getUrlEncoder().withoutPadding().encodeToString(material);
    assertThat(text)
        .doesNotContainIgnoringCase(hex)
        .doesNotContainIgnoringCase(hex.substring(0, 16))
        .doesNotContain(base64)
        .doesNotContain(base64.substring(0, 12))
        .doesNotContain(base64Url.substring(0, 12));
  }

  /** 32 distinctive bytes, so a partial leak is unlikely to go unnoticed by accident. */
  static byte[] material(int seed) {
    byte[] bytes = new byte[32];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) (seed * 31 + i * 7 + 0x5a);
    }
    return bytes;
  }
}
