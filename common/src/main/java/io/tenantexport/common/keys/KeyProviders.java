package io.tenantexport.common.keys;

import io.tenantexport.common.tenant.TenantId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Opens the job's {@link KeyProvider} from the {@code keys.*} options of its configuration.
 *
 * <p>Options (named here without their {@code keys.} prefix):
 *
 * <ul>
 *   <li>{@code provider}: {@value #LOCAL} (the default) for a {@link LocalKeystore}, or the
 *       fully-qualified name of a class implementing {@link KeyProvider.Factory};
 *   <li>{@code keystore}: for {@value #LOCAL}, the path of the PKCS#12 file (required);
 *   <li>{@code password_file}: for {@value #LOCAL}, a file whose first line is the keystore
 *       password; without it the password comes from the environment variable {@value
 *       #PASSWORD_ENV}.
 * </ul>
 *
 * <p>The {@value #LOCAL} provider rejects options it does not know, so a misspelt option fails at
 * start-up. Errors name the option and its value; never a password.
 *
 * <h2>Plugging in a KMS</h2>
 *
 * <p>Write a class implementing {@link KeyProvider.Factory} with a public no-arg constructor, put
 * it on the job's classpath and set {@code keys.provider} to its fully-qualified name. Its {@link
 * KeyProvider.Factory#open open} receives every {@code keys.*} option (prefix removed), so it can
 * define its own, say {@code keys.kms_uri} and {@code keys.wrapped_keys}. Use envelope encryption:
 *
 * <ul>
 *   <li>the tenant and quarantine keys (data keys) are stored only wrapped, i.e. encrypted under a
 *       master key that never leaves the KMS;
 *   <li>at {@code open}, the factory fetches the wrapped data keys it may need and has the KMS
 *       unwrap them, then holds the plaintext keys in memory only: never on disk, in logs, in
 *       exception messages, or in Flink state;
 *   <li>lookups are served from that in-memory cache and do not call the KMS: they run on the
 *       record path, and a KMS outage must fail the job at start-up or restore, not stall it midway
 *       (a key added later is picked up by the next restart);
 *   <li>{@link KeyProvider#close()} wipes the cache.
 * </ul>
 *
 * <p>Key ids are stable names ({@link KeyIds}); rotating a key means adding a new id and pointing
 * the configuration or policy at it, while old ids stay available to open old quarantine payloads.
 */
public final class KeyProviders {
  public static final String PROVIDER = "provider";
  public static final String KEYSTORE = "keystore";
  public static final String PASSWORD_FILE = "password_file";
  public static final String LOCAL = "local";
  public static final String PASSWORD_ENV = "TENANT_EXPORT_KEYSTORE_PASSWORD";

  private static final String PREFIX = "keys.";
  private static final Set<String> LOCAL_OPTIONS = Set.of(PROVIDER, KEYSTORE, PASSWORD_FILE);

  private KeyProviders() {}

  /**
   * Opens the provider {@code options} name.
   *
   * @param options the {@code keys.*} options of the job configuration, prefix removed
   * @throws IllegalArgumentException naming the option and value at fault
   */
  public static KeyProvider open(Map<String, String> options) {
    return open(options, System::getenv);
  }

  /** As {@link #open(Map)}, reading environment variables through {@code env} (for tests). */
  static KeyProvider open(Map<String, String> options, Function<String, String> env) {
    Map<String, String> opts = Collections.unmodifiableMap(new LinkedHashMap<>(options));
    String provider = opts.get(PROVIDER);
    if (provider == null || provider.equals(LOCAL)) {
      return openLocal(opts, env);
    }
    if (provider.isBlank()) {
      throw new IllegalArgumentException(
          PREFIX + PROVIDER + " is empty: set it to " + LOCAL + " or the name of a factory class");
    }
    KeyProvider.Factory factory = factory(provider);
    KeyProvider opened;
    try {
      opened = factory.open(opts);
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "key provider " + provider + " (" + PREFIX + PROVIDER + ") failed to open: " + e, e);
    }
    if (opened == null) {
      throw new IllegalStateException(
          "key provider " + provider + " (" + PREFIX + PROVIDER + ") returned null");
    }
    return opened;
  }

  private static KeyProvider openLocal(Map<String, String> opts, Function<String, String> env) {
    Set<String> unknown = new TreeSet<>(opts.keySet());
    unknown.removeAll(LOCAL_OPTIONS);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException(
          "unknown option(s) "
              + unknown.stream().map(k -> PREFIX + k).toList()
              + " for "
              + PREFIX
              + PROVIDER
              + " "
              + LOCAL
              + "; known: "
              + LOCAL_OPTIONS.stream().sorted().map(k -> PREFIX + k).toList());
    }
    Path keystore = path(opts, KEYSTORE);
    if (keystore == null) {
      throw new IllegalArgumentException(
          PREFIX + KEYSTORE + " is required when " + PREFIX + PROVIDER + " is " + LOCAL);
    }
    Path passwordFile = path(opts, PASSWORD_FILE);
    String passwordSource;
    char[] password;
    if (passwordFile != null) {
      passwordSource = PREFIX + PASSWORD_FILE + " = " + passwordFile;
      password = firstLine(passwordFile);
    } else {
      passwordSource = "environment variable " + PASSWORD_ENV;
      String fromEnv = env.apply(PASSWORD_ENV);
      if (fromEnv == null || fromEnv.isEmpty()) {
        throw new IllegalArgumentException(
            "no password for "
                + PREFIX
                + KEYSTORE
                + " = "
                + keystore
                + ": set "
                + PREFIX
                + PASSWORD_FILE
                + " or the environment variable "
                + PASSWORD_ENV);
      }
      password = fromEnv.toCharArray();
    }
    try {
      return LocalKeystore.open(keystore, password);
    } catch (IllegalArgumentException | UncheckedIOException e) {
      throw new IllegalArgumentException(
          PREFIX
              + KEYSTORE
              + " = "
              + keystore
              + " (password from "
              + passwordSource
              + "): "
              + e.getMessage(),
          e);
    }
  }

  private static Path path(Map<String, String> opts, String option) {
    String value = opts.get(option);
    if (value == null) {
      return null;
    }
    if (value.isBlank()) {
      throw new IllegalArgumentException(PREFIX + option + " is empty: expected a file path");
    }
    try {
      return Path.of(value);
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException(
          PREFIX + option + " = " + TenantId.describe(value) + ": not a path: " + e.getMessage(),
          e);
    }
  }

  /**
   * The first line of {@code file} as characters, without going through a String (which could not
   * be wiped); the file's bytes are wiped after decoding.
   */
  private static char[] firstLine(Path file) {
    String where = PREFIX + PASSWORD_FILE + " = " + file;
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException(where + ": cannot read (" + e + ")", e);
    }
    try {
      int end = 0;
      while (end < bytes.length && bytes[end] != '\n' && bytes[end] != '\r') {
        end++;
      }
      if (end == 0) {
        throw new IllegalArgumentException(where + ": the first line (the password) is empty");
      }
      CharBuffer chars;
      try {
        chars =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes, 0, end));
      } catch (CharacterCodingException e) {
        throw new IllegalArgumentException(where + ": the first line is not UTF-8", e);
      }
      char[] password = Arrays.copyOfRange(chars.array(), chars.position(), chars.limit());
      Arrays.fill(chars.array(), '\0');
      return password;
    } finally {
      Arrays.fill(bytes, (byte) 0);
    }
  }

  private static KeyProvider.Factory factory(String className) {
    String where = PREFIX + PROVIDER + " = " + TenantId.describe(className);
    ClassLoader loader = Thread.currentThread().getContextClassLoader();
    if (loader == null) {
      loader = KeyProviders.class.getClassLoader();
    }
    Class<?> type;
    try {
      type = Class.forName(className, true, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalArgumentException(
          where
              + ": no such class on the classpath ("
              + e
              + "); expected "
              + LOCAL
              + " or the name of a class implementing "
              + KeyProvider.Factory.class.getCanonicalName(),
          e);
    }
    if (!KeyProvider.Factory.class.isAssignableFrom(type)) {
      throw new IllegalArgumentException(
          where + ": class does not implement " + KeyProvider.Factory.class.getCanonicalName());
    }
    Constructor<?> constructor;
    try {
      constructor = type.getConstructor();
    } catch (NoSuchMethodException e) {
      throw new IllegalArgumentException(where + ": class has no public no-arg constructor", e);
    }
    if (Modifier.isAbstract(type.getModifiers())) {
      throw new IllegalArgumentException(where + ": class is abstract");
    }
    try {
      return (KeyProvider.Factory) constructor.newInstance();
    } catch (InvocationTargetException e) {
      throw new IllegalArgumentException(
          where + ": constructor failed: " + e.getCause(), e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException(where + ": cannot instantiate: " + e, e);
    }
  }
}
