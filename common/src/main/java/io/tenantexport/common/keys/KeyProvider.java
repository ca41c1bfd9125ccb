package io.tenantexport.common.keys;

import io.tenantexport.common.tenant.TenantId;
import java.util.Map;
import javax.crypto.SecretKey;

/**
 * Where the job's secret keys come from: each tenant's pseudonymisation keys (HMAC-SHA256, used by
 * the {@code hash} policy action) and the quarantine's encryption keys (AES).
 *
 * <p>Keys live only in the provider and in the memory of the operator that asked for them: they are
 * never logged, never part of an exception message, and never written to Flink state, checkpoints
 * or savepoints (operators keep key <em>ids</em>, and ask again after a restore).
 *
 * <p>{@link LocalKeystore} serves a PKCS#12 file for development and tests. A KMS plugs in through
 * {@link Factory}: name the factory class as {@code keys.provider} in the job configuration and it
 * receives the {@code keys.*} options (see {@link KeyProviders}, which also describes how a KMS
 * provider should hold its keys).
 *
 * <p>Key ids follow {@link KeyIds}. Implementations must be safe for concurrent lookups.
 */
public interface KeyProvider extends AutoCloseable {

  /**
   * Key {@code keyId} of {@code tenant}'s own key ring. A tenant can only ever reach its own keys:
   * the tenant is part of the lookup, not of the key id.
   *
   * @throws KeyNotFoundException naming the tenant and key id (never key material)
   */
  SecretKey tenantKey(TenantId tenant, String keyId);

  /**
   * The quarantine encryption key {@code keyId}: AES, 256 bits, extractable, as {@link
   * QuarantineCipher} requires.
   *
   * @throws KeyNotFoundException naming the key id
   */
  SecretKey quarantineKey(String keyId);

  @Override
  default void close() {}

  /** Opens a provider from the {@code keys.*} options of the job configuration (the KMS seam). */
  interface Factory {
    KeyProvider open(Map<String, String> options);
  }
}
