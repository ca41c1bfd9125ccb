package io.tenantexport.common.keys;

import java.io.IOException;
import java.io.NotSerializableException;
import java.io.ObjectOutputStream;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.SecretKey;

/**
 * A secret key as a provider hands it out: raw bytes plus a name for messages.
 *
 * <p>Unlike {@link javax.crypto.spec.SecretKeySpec}, whose {@code hashCode} (and so its default
 * {@code toString}) is computed from the key bytes, nothing observable here except {@link
 * #getEncoded()} depends on the material. It refuses Java serialization, so a key that slips into a
 * serialized Flink function or state fails loudly instead of landing in a checkpoint. {@link
 * #destroy()} wipes this copy only: each lookup gets its own copy.
 */
final class HeldKey implements SecretKey {
  private static final long serialVersionUID = 1L;

  private final String algorithm;
  private final String name;
  private final byte[] material;
  private volatile boolean destroyed;

  /** Takes ownership of {@code material} (does not copy it). */
  HeldKey(String algorithm, byte[] material, String name) {
    this.algorithm = algorithm;
    this.material = material;
    this.name = name;
  }

  @Override
  public String getAlgorithm() {
    return algorithm;
  }

  @Override
  public String getFormat() {
    return "RAW";
  }

  @Override
  public byte[] getEncoded() {
    if (destroyed) {
      throw new IllegalStateException("key " + name + " was destroyed");
    }
    return material.clone();
  }

  @Override
  public void destroy() {
    destroyed = true;
    Arrays.fill(material, (byte) 0);
  }

  @Override
  public boolean isDestroyed() {
    return destroyed;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HeldKey
        && ((HeldKey) o).algorithm.equals(algorithm)
        && ((HeldKey) o).name.equals(name)
        && MessageDigest.isEqual(((HeldKey) o).material, material);
  }

  @Override
  public int hashCode() {
    return algorithm.hashCode() * 31 + name.hashCode();
  }

  @Override
  public String toString() {
    return algorithm + " key " + name + (destroyed ? " (destroyed)" : "");
  }

  private void writeObject(ObjectOutputStream out) throws IOException {
    throw new NotSerializableException(
        "secret key " + name + " must not be serialized: keep its key id and look it up again");
  }
}
