package io.tenantexport.local;

import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.keys.KeyProviders;
import io.tenantexport.common.keys.LocalKeystore;
import io.tenantexport.common.tenant.TenantId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A development keystore for the local run and the tests: random keys, written next to the run's
 * other files and never committed. Production keys come from a real keystore or a KMS (see {@code
 * KeyProvider}); nothing here is meant for them.
 */
public final class DevSecrets {
  /** The key id the example policies in {@code deploy/policies} hash with. */
  public static final String TENANT_KEY_ID = "k1";

  public static final String QUARANTINE_KEY_ID = "q1";

  private DevSecrets() {}

  /**
   * Writes {@code dir/dev-keys.p12} (a {@link #TENANT_KEY_ID} key per tenant, the quarantine key)
   * and its password file; returns the job settings that point at them.
   */
  public static Map<String, String> create(Path dir, Collection<String> tenants)
      throws IOException {
    Files.createDirectories(dir);
    byte[] secret = new byte[18];
    new SecureRandom().nextBytes(secret);
    String password = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    Path passwordFile = dir.resolve("dev-keys.password");
    Files.writeString(passwordFile, password + "\n");
    Path keystore = dir.resolve("dev-keys.p12");
    LocalKeystore.Writer w = LocalKeystore.create(keystore, password.toCharArray());
    for (String t : tenants) {
      w.tenantKey(TenantId.of(t, "dev keystore tenants"), TENANT_KEY_ID);
    }
    w.quarantineKey(QUARANTINE_KEY_ID).write();
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("keys." + KeyProviders.PROVIDER, KeyProviders.LOCAL);
    settings.put("keys." + KeyProviders.KEYSTORE, keystore.toAbsolutePath().toString());
    settings.put("keys." + KeyProviders.PASSWORD_FILE, passwordFile.toAbsolutePath().toString());
    settings.put("keys.quarantine_key", QUARANTINE_KEY_ID);
    return settings;
  }

  /** Opens the key provider that job settings from {@link #create} name, as the job does. */
  public static KeyProvider open(Map<String, String> settings) {
    Map<String, String> options = new LinkedHashMap<>();
    settings.forEach(
        (k, v) -> {
          if (k.startsWith("keys.") && !k.equals("keys.quarantine_key")) {
            options.put(k.substring("keys.".length()), v);
          }
        });
    return KeyProviders.open(options);
  }
}
