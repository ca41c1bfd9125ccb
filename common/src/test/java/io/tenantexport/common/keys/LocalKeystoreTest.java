package io.tenantexport.common.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tenantexport.common.tenant.TenantId;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.util.stream.Stream;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalKeystoreTest {
  private static final TenantId ACME = TenantId.of("acme", "test");
  private static final TenantId GLOBEX = TenantId.of("globex", "test");

  @TempDir Path dir;

  private static char[] password() {
    return "correct horse".toCharArray();
  }

  @Test
  void keysWrittenAreTheKeysOpened() {
    Path file = dir.resolve("keys.p12");
    LocalKeystore.create(file, password())
        .tenantKey(ACME, "k1", NoKeyMaterial.material(1))
        .tenantKey(ACME, "k2", NoKeyMaterial.material(2))
        .tenantKey(GLOBEX, "k1", NoKeyMaterial.material(3))
        .quarantineKey("q1", NoKeyMaterial.material(4))
        .write();

    try (LocalKeystore keys = LocalKeystore.open(file, password())) {
      SecretKey acme1 = keys.tenantKey(ACME, "k1");
      assertThat(acme1.getAlgorithm()).isEqualTo("HmacSHA256");
      assertThat(acme1.getEncoded()).isEqualTo(NoKeyMaterial.material(1));
      assertThat(keys.tenantKey(ACME, "k2").getEncoded()).isEqualTo(NoKeyMaterial.material(2));
      assertThat(keys.tenantKey(GLOBEX, "k1").getEncoded()).isEqualTo(NoKeyMaterial.material(3));
      SecretKey q1 = keys.quarantineKey("q1");
      assertThat(q1.getAlgorithm()).isEqualTo("AES");
      assertThat(q1.getEncoded()).isEqualTo(NoKeyMaterial.material(4));
      assertThat(keys).hasToString("LocalKeystore[" + file + ", 3 tenant keys, 1 quarantine keys]");
    }
  }

  @Test
  void generatedKeysAreRandom256BitKeys() {
    Path file = dir.resolve("keys.p12");
    LocalKeystore.create(file, password())
        .tenantKey(ACME, "k1")
        .tenantKey(GLOBEX, "k1")
        .quarantineKey("q1")
        .quarantineKey("q2")
        .write();

    try (LocalKeystore keys = LocalKeystore.open(file, password())) {
      byte[] acme = keys.tenantKey(ACME, "k1").getEncoded();
      byte[] globex = keys.tenantKey(GLOBEX, "k1").getEncoded();
      byte[] q1 = keys.quarantineKey("q1").getEncoded();
      byte[] q2 = keys.quarantineKey("q2").getEncoded();
      assertThat(Stream.of(acme, globex, q1, q2)).allSatisfy(k -> assertThat(k).hasSize(32));
      assertThat(acme).isNotEqualTo(globex);
      assertThat(q1).isNotEqualTo(q2);
    }
  }

  @Test
  void lookupsAreServedFromMemoryOnceOpened() throws IOException {
    Path file = dir.resolve("keys.p12");
    LocalKeystore.create(file, password()).quarantineKey("q1", NoKeyMaterial.material(1)).write();

    try (LocalKeystore keys = LocalKeystore.open(file, password())) {
      Files.delete(file);
      assertThat(keys.quarantineKey("q1").getEncoded()).isEqualTo(NoKeyMaterial.material(1));
    }
  }

  @Test
  void openAndCreateWipeThePasswordArray() {
    Path file = dir.resolve("keys.p12");
    char[] forCreate = password();
    LocalKeystore.Writer writer = LocalKeystore.create(file, forCreate).quarantineKey("q1");
    assertThat(forCreate).containsOnly('\0');
    writer.write();

    char[] forOpen = password();
    LocalKeystore.open(file, forOpen).close();
    assertThat(forOpen).containsOnly('\0');

    char[] wrong = "wrong".toCharArray();
    assertThatThrownBy(() -> LocalKeystore.open(file, wrong));
    assertThat(wrong).containsOnly('\0');
  }

  @Test
  void aWrongPasswordFailsNamingTheFile() {
    Path file = dir.resolve("keys.p12");
    LocalKeystore.create(file, password()).quarantineKey("q1").write();

    assertThatThrownBy(() -> LocalKeystore.open(file, "not it".toCharArray()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("wrong password")
        .hasMessageNotContaining("not it");
  }

  @Test
  void aMissingFileFailsNamingTheFile() {
    Path file = dir.resolve("absent.p12");

    assertThatThrownBy(() -> LocalKeystore.open(file, password()))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("no such file");
  }

  @Test
  void aFileThatIsNotAKeystoreFailsNamingTheFile() throws IOException {
    Path file = Files.writeString(dir.resolve("keys.p12"), "tenant.acme.k1=secret\n");

    assertThatThrownBy(() -> LocalKeystore.open(file, password()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(file.toString())
        .hasMessageNotContaining("secret");
  }

  @Test
  void aMissingKeyNamesTenantKeyIdAliasAndFile() {
    Path file = dir.resolve("keys.p12");
    LocalKeystore.create(file, password())
        .tenantKey(GLOBEX, "k1")
        .quarantineKey("q1", NoKeyMaterial.material(1))
        .write();

    try (LocalKeystore keys = LocalKeystore.open(file, password())) {
      // A tenant cannot reach another tenant's key with the same key id.
      assertThatThrownBy(() -> keys.tenantKey(ACME, "k1"))
          .isInstanceOf(KeyNotFoundException.class)
          .hasMessageContaining("acme")
          .hasMessageContaining("\"k1\"")
          .hasMessageContaining("tenant.acme.k1")
          .hasMessageContaining(file.toString());
      assertThatThrownBy(() -> keys.quarantineKey("q2"))
          .isInstanceOf(KeyNotFoundException.class)
          .hasMessageContaining("quarantine.q2")
          .hasMessageContaining(file.toString());
    }
  }

  @Test
  void messagesAndToStringsNeverShowKeyMaterial() {
    Path file = dir.resolve("keys.p12");
    byte[] tenant = NoKeyMaterial.material(7);
    byte[] quarantine = NoKeyMaterial.material(8);
    LocalKeystore.Writer writer =
        LocalKeystore.create(file, password())
            .tenantKey(ACME, "k1", tenant)
            .quarantineKey("q1", quarantine);
    StringBuilder shown = new StringBuilder(writer.toString());
    writer.write();

    try (LocalKeystore keys = LocalKeystore.open(file, password())) {
      SecretKey tenantKey = keys.tenantKey(ACME, "k1");
      SecretKey quarantineKey = keys.quarantineKey("q1");
      shown.append(keys).append(tenantKey).append(quarantineKey);
      shown.append(tenantKey.hashCode()).append(quarantineKey.hashCode());
      for (Runnable failing :
          new Runnable[] {
            () -> keys.tenantKey(ACME, "k2"),
            () -> keys.tenantKey(GLOBEX, "k1"),
            () -> keys.quarantineKey("q2"),
            () -> LocalKeystore.create(file, password()).tenantKey(ACME, "k1", new byte[16]),
            () ->
                LocalKeystore.create(file, password())
                    .tenantKey(ACME, "k1", tenant)
                    .tenantKey(ACME, "k1", tenant),
          }) {
        try {
          failing.run();
        } catch (RuntimeException e) {
          shown.append(e.getMessage()).append(e);
        }
      }
    }

    assertThat(shown).contains("tenant.acme.k1", "quarantine.q1", "tenant.acme.k2");
    NoKeyMaterial.assertAbsent(shown.toString(), tenant);
    NoKeyMaterial.assertAbsent(shown.toString(), quarantine);
  }

  @Test
  void keysHandedOutRefuseJavaSerialization() {
    Path file = dir.resolve("keys.p12");
    LocalKeystore.create(file, password()).quarantineKey("q1").write();

    try (LocalKeystore keys = LocalKeystore.open(file, password())) {
      SecretKey key = keys.quarantineKey("q1");
      assertThatThrownBy(() -> new ObjectOutputStream(new ByteArrayOutputStream()).writeObject(key))
          .isInstanceOf(NotSerializableException.class)
          .hasMessageContaining("quarantine.q1");
    }
  }

  @Test
  void eachLookupGetsItsOwnCopy() throws Exception {
    Path file = dir.resolve("keys.p12");
    LocalKeystore.create(file, password()).quarantineKey("q1", NoKeyMaterial.material(1)).write();

    try (LocalKeystore keys = LocalKeystore.open(file, password())) {
      SecretKey first = keys.quarantineKey("q1");
      first.getEncoded()[0] ^= 1;
      first.destroy();
      assertThat(first.isDestroyed()).isTrue();
      assertThat(keys.quarantineKey("q1").getEncoded()).isEqualTo(NoKeyMaterial.material(1));
    }
  }

  @Test
  void aClosedKeystoreRefusesLookups() {
    Path file = dir.resolve("keys.p12");
    LocalKeystore.create(file, password()).quarantineKey("q1").write();
    LocalKeystore keys = LocalKeystore.open(file, password());
    keys.close();

    assertThatThrownBy(() -> keys.quarantineKey("q1"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void keyIdsAreValidated() {
    Path file = dir.resolve("keys.p12");
    LocalKeystore.Writer writer = LocalKeystore.create(file, password());
    for (String bad : new String[] {"", "K1", "k.1", "-k", "k 1", "k".repeat(65)}) {
      assertThatThrownBy(() -> writer.tenantKey(ACME, bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("invalid key id");
      assertThatThrownBy(() -> writer.quarantineKey(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("invalid key id");
    }
    writer.tenantKey(ACME, "k".repeat(64)).quarantineKey("0_a-b").write();

    try (LocalKeystore keys = LocalKeystore.open(file, password())) {
      assertThat(keys.tenantKey(ACME, "k".repeat(64))).isNotNull();
      assertThatThrownBy(() -> keys.tenantKey(ACME, "a.b"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("\"a.b\"");
    }
  }

  @Test
  void theWriterRejectsWrongSizesAndDuplicatesAndWritesOnce() {
    Path file = dir.resolve("keys.p12");
    LocalKeystore.Writer writer = LocalKeystore.create(file, password()).quarantineKey("q1");

    assertThatThrownBy(() -> writer.quarantineKey("q2", new byte[16]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("32 bytes")
        .hasMessageContaining("got 16");
    assertThatThrownBy(() -> writer.quarantineKey("q1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("quarantine.q1 for keystore " + file + " was already added");
    writer.write();
    assertThatThrownBy(writer::write)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already written");
  }

  @Test
  void writeReplacesTheFileWholeAndOwnerOnly() throws IOException {
    Path file = dir.resolve("keys.p12");
    LocalKeystore.create(file, password()).quarantineKey("old").write();
    LocalKeystore.create(file, password()).quarantineKey("new").write();

    try (LocalKeystore keys = LocalKeystore.open(file, password())) {
      assertThat(keys.quarantineKey("new")).isNotNull();
      assertThatThrownBy(() -> keys.quarantineKey("old")).isInstanceOf(KeyNotFoundException.class);
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files).containsExactly(file);
    }
    assumeTrue(file.getFileSystem().supportedFileAttributeViews().contains("posix"));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
  }

  @Test
  void unexpectedEntriesFailAtOpenNamingTheAlias() throws Exception {
    assertThat(openFailure("tenant.acme", new SecretKeySpec(new byte[32], "HmacSHA256")))
        .hasMessageContaining("\"tenant.acme\"")
        .hasMessageContaining("unexpected alias");
    assertThat(openFailure("acme.k1", new SecretKeySpec(new byte[32], "HmacSHA256")))
        .hasMessageContaining("\"acme.k1\"");
    assertThat(openFailure("quarantine.q1", new SecretKeySpec(new byte[16], "AES")))
        .hasMessageContaining("\"quarantine.q1\"")
        .hasMessageContaining("expected a 256-bit AES key, found a AES key of 128 bits");
    assertThat(openFailure("tenant.acme.k1", new SecretKeySpec(new byte[32], "AES")))
        .hasMessageContaining("expected a 256-bit HmacSHA256 key");
  }

  private Throwable openFailure(String alias, SecretKey key) throws Exception {
    Path file = dir.resolve(alias + ".p12");
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setEntry(
        alias, new KeyStore.SecretKeyEntry(key), new KeyStore.PasswordProtection(password()));
    try (OutputStream out = Files.newOutputStream(file)) {
      store.store(out, password());
    }
    try {
      LocalKeystore.open(file, password()).close();
    } catch (IllegalArgumentException e) {
      assertThat(e).hasMessageContaining(file.toString());
      return e;
    }
    throw new AssertionError("opened " + file);
  }
}
