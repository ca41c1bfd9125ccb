package io.tenantexport.common.keys;

import io.tenantexport.common.tenant.TenantId;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.UnrecoverableEntryException;
import java.security.UnrecoverableKeyException;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import javax.security.auth.DestroyFailedException;

/**
 * A {@link KeyProvider} serving a PKCS#12 file of secret-key entries, for development, tests and
 * deployments that mount the file as a secret.
 *
 * <p>Aliases:
 *
 * <ul>
 *   <li>{@code tenant.<tenant-id>.<key-id>}: one of a tenant's HMAC-SHA256 keys, 256 bits;
 *   <li>{@code quarantine.<key-id>}: a quarantine AES key, 256 bits.
 * </ul>
 *
 * <p>Key ids follow {@link KeyIds}; neither tenant ids nor key ids contain a dot, so an alias
 * splits unambiguously. Every entry is protected by the keystore password. Any other alias, entry
 * type, algorithm or key size makes {@link #open} fail, so a typo surfaces at start-up, not as a
 * missing key in the middle of a run.
 *
 * <p>Invariant: {@link #open} reads and decrypts the whole file once; lookups are served from
 * memory, never touch the disk, and are thread-safe. Each lookup returns its own copy of the key,
 * which refuses Java serialization. {@link #close()} wipes the material held here.
 *
 * <p>Besides {@link #create}, keytool can add entries to the file, for example {@code keytool
 * -genseckey -storetype PKCS12 -keystore keys.p12 -alias tenant.acme.k1 -keyalg HmacSHA256 -keysize
 * 256} and {@code ... -alias quarantine.q1 -keyalg AES -keysize 256}.
 */
public final class LocalKeystore implements KeyProvider {
  static final String TENANT_PREFIX = "tenant.";
  static final String QUARANTINE_PREFIX = "quarantine.";
  static final String TENANT_ALGORITHM = "HmacSHA256";
  static final String QUARANTINE_ALGORITHM = "AES";
  static final int KEY_BYTES = 32;

  private static final String STORE_TYPE = "PKCS12";
  // Explicit rather than the JDK default, so a java.security override cannot weaken new files.
  private static final String ENTRY_PROTECTION = "PBEWithHmacSHA256AndAES_256";

  private final Path file;
  private final Map<String, byte[]> material;
  private final int tenantKeys;
  private volatile boolean closed;

  private LocalKeystore(Path file, Map<String, byte[]> material) {
    this.file = file;
    this.material = material;
    this.tenantKeys =
        (int) material.keySet().stream().filter(a -> a.startsWith(TENANT_PREFIX)).count();
  }

  /**
   * Reads and decrypts every entry of {@code file}.
   *
   * @param password the keystore password, which also protects every entry; the array is wiped
   *     (filled with zeros) before this method returns, whether it succeeds or fails
   * @throws UncheckedIOException naming the file when it cannot be read
   * @throws IllegalArgumentException naming the file when the password is wrong, the file is not a
   *     PKCS#12 keystore, or an entry has an unexpected alias, type, algorithm or size
   */
  public static LocalKeystore open(Path file, char[] password) {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(password, "password");
    KeyStore.PasswordProtection protection = new KeyStore.PasswordProtection(password);
    Arrays.fill(password, '\0');
    Map<String, byte[]> material = new TreeMap<>();
    try {
      KeyStore store = load(file, protection.getPassword());
      for (String alias : Collections.list(store.aliases())) {
        material.put(alias, read(store, alias, protection, file));
      }
      return new LocalKeystore(file, Collections.unmodifiableMap(material));
    } catch (GeneralSecurityException e) {
      material.values().forEach(b -> Arrays.fill(b, (byte) 0));
      throw new IllegalArgumentException("cannot read keystore " + file + ": " + e, e);
    } catch (RuntimeException e) {
      material.values().forEach(b -> Arrays.fill(b, (byte) 0));
      throw e;
    } finally {
      destroy(protection);
    }
  }

  /**
   * Starts a new keystore file for development and tests; nothing is written before {@link
   * Writer#write()}.
   *
   * @param password the password for the file and its entries; copied, and the caller's array is
   *     wiped at once
   */
  public static Writer create(Path file, char[] password) {
    return new Writer(file, password);
  }

  private static KeyStore load(Path file, char[] password) throws GeneralSecurityException {
    KeyStore store = KeyStore.getInstance(STORE_TYPE);
    try (InputStream in = Files.newInputStream(file)) {
      store.load(in, password);
      return store;
    } catch (NoSuchFileException e) {
      throw new UncheckedIOException("cannot open keystore " + file + ": no such file", e);
    } catch (IOException e) {
      if (e.getCause() instanceof UnrecoverableKeyException) {
        throw new IllegalArgumentException(
            "cannot open keystore "
                + file
                + ": wrong password, or the file is corrupt (PKCS#12 integrity check failed)",
            e);
      }
      if (Files.isRegularFile(file) && Files.isReadable(file)) {
        throw new IllegalArgumentException(
            "cannot open keystore " + file + ": not a readable PKCS#12 file (" + e + ")", e);
      }
      throw new UncheckedIOException("cannot read keystore " + file + ": " + e, e);
    }
  }

  private static byte[] read(
      KeyStore store, String alias, KeyStore.PasswordProtection protection, Path file)
      throws GeneralSecurityException {
    String where = "entry " + TenantId.describe(alias) + " of keystore " + file;
    String algorithm = algorithmOf(alias, where);
    if (!store.entryInstanceOf(alias, KeyStore.SecretKeyEntry.class)) {
      throw new IllegalArgumentException(where + ": not a secret-key entry");
    }
    SecretKey key;
    try {
      key = ((KeyStore.SecretKeyEntry) store.getEntry(alias, protection)).getSecretKey();
    } catch (UnrecoverableEntryException e) {
      throw new IllegalArgumentException(
          where + ": cannot be decrypted with the keystore password (entries must share it)", e);
    }
    byte[] bytes = key.getEncoded();
    if (!algorithm.equalsIgnoreCase(key.getAlgorithm())
        || bytes == null
        || bytes.length != KEY_BYTES) {
      String size = bytes == null ? "of unknown size" : "of " + bytes.length * 8 + " bits";
      if (bytes != null) {
        Arrays.fill(bytes, (byte) 0);
      }
      throw new IllegalArgumentException(
          where
              + ": expected a 256-bit "
              + algorithm
              + " key, found a "
              + key.getAlgorithm()
              + " key "
              + size);
    }
    return bytes;
  }

  /** The algorithm an alias must hold, or an exception when the alias is not one of ours. */
  private static String algorithmOf(String alias, String where) {
    if (alias.startsWith(TENANT_PREFIX)) {
      String[] parts = alias.split("\\.", -1);
      if (parts.length == 3 && TenantId.isValid(parts[1]) && KeyIds.isValid(parts[2])) {
        return TENANT_ALGORITHM;
      }
    } else if (alias.startsWith(QUARANTINE_PREFIX)
        && KeyIds.isValid(alias.substring(QUARANTINE_PREFIX.length()))) {
      return QUARANTINE_ALGORITHM;
    }
    throw new IllegalArgumentException(
        where
            + ": unexpected alias, expected tenant.<tenant-id>.<key-id> or quarantine.<key-id>"
            + " with ids matching "
            + KeyIds.PATTERN.pattern());
  }

  static String tenantAlias(TenantId tenant, String keyId) {
    return TENANT_PREFIX + tenant.value() + "." + keyId;
  }

  static String quarantineAlias(String keyId) {
    return QUARANTINE_PREFIX + keyId;
  }

  @Override
  public SecretKey tenantKey(TenantId tenant, String keyId) {
    Objects.requireNonNull(tenant, "tenant");
    KeyIds.require(keyId, "tenant key lookup for tenant " + tenant);
    String alias = tenantAlias(tenant, keyId);
    return lookup(
        alias,
        TENANT_ALGORITHM,
        "tenant "
            + tenant
            + " has no key "
            + TenantId.describe(keyId)
            + " (alias "
            + alias
            + ") in keystore "
            + file);
  }

  @Override
  public SecretKey quarantineKey(String keyId) {
    KeyIds.require(keyId, "quarantine key lookup");
    String alias = quarantineAlias(keyId);
    return lookup(
        alias,
        QUARANTINE_ALGORITHM,
        "no quarantine key "
            + TenantId.describe(keyId)
            + " (alias "
            + alias
            + ") in keystore "
            + file);
  }

  private SecretKey lookup(String alias, String algorithm, String notFound) {
    if (closed) {
      throw new IllegalStateException("keystore " + file + " is closed");
    }
    byte[] bytes = material.get(alias);
    if (bytes == null) {
      throw new KeyNotFoundException(notFound);
    }
    return new HeldKey(algorithm, bytes.clone(), alias);
  }

  /** Wipes the material held here; lookups fail afterwards. Keys already handed out stay valid. */
  @Override
  public void close() {
    closed = true;
    material.values().forEach(b -> Arrays.fill(b, (byte) 0));
  }

  @Override
  public String toString() {
    return "LocalKeystore["
        + file
        + ", "
        + tenantKeys
        + " tenant keys, "
        + (material.size() - tenantKeys)
        + " quarantine keys"
        + (closed ? ", closed" : "")
        + "]";
  }

  private static void destroy(KeyStore.PasswordProtection protection) {
    try {
      protection.destroy();
    } catch (DestroyFailedException e) {
      // PasswordProtection.destroy only fills its own copy; it does not fail in practice.
    }
  }

  /**
   * Builds a keystore file in memory and writes it once, atomically. Not thread-safe.
   *
   * <p>The file replaces any previous file at the path in one rename, so a reader sees the old or
   * the new keystore, never a partial one; on POSIX file systems it is readable by its owner only
   * (mode 600). After {@link #write()}, successful or not, the writer has wiped its password and
   * material and cannot be used again.
   */
  public static final class Writer {
    private final Path file;
    private final Map<String, SecretKeySpec> entries = new TreeMap<>();
    private final SecureRandom random = new SecureRandom();
    private char[] password;

    private Writer(Path file, char[] password) {
      this.file = Objects.requireNonNull(file, "file");
      Objects.requireNonNull(password, "password");
      this.password = password.clone();
      Arrays.fill(password, '\0');
    }

    /** Adds a fresh random 256-bit HMAC-SHA256 key as {@code tenant.<tenant>.<keyId>}. */
    public Writer tenantKey(TenantId tenant, String keyId) {
      return tenantKey(tenant, keyId, randomKey());
    }

    /**
     * Adds {@code material} (32 bytes, copied) as the HMAC-SHA256 key {@code
     * tenant.<tenant>.<keyId>}.
     */
    public Writer tenantKey(TenantId tenant, String keyId, byte[] material) {
      Objects.requireNonNull(tenant, "tenant");
      KeyIds.require(keyId, "tenant key for tenant " + tenant);
      return add(tenantAlias(tenant, keyId), TENANT_ALGORITHM, material);
    }

    /** Adds a fresh random 256-bit AES key as {@code quarantine.<keyId>}. */
    public Writer quarantineKey(String keyId) {
      return quarantineKey(keyId, randomKey());
    }

    /** Adds {@code material} (32 bytes, copied) as the AES key {@code quarantine.<keyId>}. */
    public Writer quarantineKey(String keyId, byte[] material) {
      KeyIds.require(keyId, "quarantine key");
      return add(quarantineAlias(keyId), QUARANTINE_ALGORITHM, material);
    }

    private byte[] randomKey() {
      byte[] bytes = new byte[KEY_BYTES];
      random.nextBytes(bytes);
      return bytes;
    }

    private Writer add(String alias, String algorithm, byte[] material) {
      if (password == null) {
        throw new IllegalStateException("keystore " + file + " was already written");
      }
      Objects.requireNonNull(material, "material");
      if (material.length != KEY_BYTES) {
        throw new IllegalArgumentException(
            "key "
                + alias
                + " for keystore "
                + file
                + ": material must be "
                + KEY_BYTES
                + " bytes (256 bits), got "
                + material.length);
      }
      if (entries.containsKey(alias)) {
        throw new IllegalArgumentException(
            "key " + alias + " for keystore " + file + " was already added");
      }
      entries.put(alias, new SecretKeySpec(material, algorithm));
      return this;
    }

    /**
     * Writes the keystore: to a temporary file next to the target, flushed to disk, then renamed
     * over the target.
     *
     * @return the path written
     * @throws UncheckedIOException naming the file when it cannot be written
     */
    public Path write() {
      if (password == null) {
        throw new IllegalStateException("keystore " + file + " was already written");
      }
      Path target = file.toAbsolutePath();
      KeyStore.PasswordProtection protection =
          new KeyStore.PasswordProtection(password, ENTRY_PROTECTION, null);
      Path temp = null;
      try {
        KeyStore store = KeyStore.getInstance(STORE_TYPE);
        store.load(null, null);
        for (Map.Entry<String, SecretKeySpec> e : entries.entrySet()) {
          store.setEntry(e.getKey(), new KeyStore.SecretKeyEntry(e.getValue()), protection);
        }
        temp = ownerOnlyTempFile(target);
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
          store.store(Channels.newOutputStream(channel), password);
          channel.force(true);
        }
        Files.move(
            temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        temp = null;
        return target;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write keystore " + target + ": " + e, e);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("cannot build keystore " + target + ": " + e, e);
      } finally {
        if (temp != null) {
          try {
            Files.deleteIfExists(temp);
          } catch (IOException ignored) {
            // The write already failed; that failure is the one to report.
          }
        }
        destroy(protection);
        Arrays.fill(password, '\0');
        password = null;
        // SecretKeySpec.destroy is not implemented; dropping the references is all we can do.
        entries.clear();
      }
    }

    private static Path ownerOnlyTempFile(Path target) throws IOException {
      Path dir = target.getParent();
      String prefix = "." + target.getFileName() + ".";
      if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
        FileAttribute<?> ownerOnly =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
        return Files.createTempFile(dir, prefix, ".tmp", ownerOnly);
      }
      return Files.createTempFile(dir, prefix, ".tmp");
    }

    @Override
    public String toString() {
      return "LocalKeystore.Writer[" + file + ", " + entries.keySet() + "]";
    }
  }
}
