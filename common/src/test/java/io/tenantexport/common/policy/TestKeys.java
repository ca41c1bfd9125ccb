package io.tenantexport.common.policy;

import io.tenantexport.common.keys.KeyNotFoundException;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.tenant.TenantId;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/** Tenant HMAC keys from memory, counting look-ups. */
final class TestKeys implements KeyProvider {
  private final Map<String, SecretKey> keys = new HashMap<>();
  int lookups;

  TestKeys with(String tenant, String keyId, String secret) {
    keys.put(
        tenant + "/" + keyId,
        new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return this;
  }

  @Override
  public SecretKey tenantKey(TenantId tenant, String keyId) {
    lookups++;
    SecretKey k = keys.get(tenant.value() + "/" + keyId);
    if (k == null) {
      throw new KeyNotFoundException("no key " + keyId + " for tenant " + tenant);
    }
    return k;
  }

  @Override
  public SecretKey quarantineKey(String keyId) {
    throw new KeyNotFoundException("no quarantine key " + keyId);
  }
}
