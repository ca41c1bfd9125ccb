package io.tenantexport.common.keys;

import io.tenantexport.common.tenant.TenantId;
import java.util.Map;
import javax.crypto.SecretKey;

/** A stand-in for a KMS factory: hands out a provider that remembers the options it was given. */
public class RecordingFactory implements KeyProvider.Factory {
  @Override
  public KeyProvider open(Map<String, String> options) {
    return new Recording(options);
  }

  record Recording(Map<String, String> options) implements KeyProvider {
    @Override
    public SecretKey tenantKey(TenantId tenant, String keyId) {
      throw new KeyNotFoundException("no key " + keyId + " for tenant " + tenant);
    }

    @Override
    public SecretKey quarantineKey(String keyId) {
      throw new KeyNotFoundException("no quarantine key " + keyId);
    }
  }

  /** Fails like a KMS that is unreachable at start-up. */
  public static class Unreachable implements KeyProvider.Factory {
    @Override
    public KeyProvider open(Map<String, String> options) {
      throw new IllegalStateException("kms " + options.get("kms_uri") + " unreachable");
    }
  }

  /** Has no public no-arg constructor. */
  public static class NeedsArgument implements KeyProvider.Factory {
    public NeedsArgument(String uri) {}

    @Override
    public KeyProvider open(Map<String, String> options) {
      return null;
    }
  }
}
