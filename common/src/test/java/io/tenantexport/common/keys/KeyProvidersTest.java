package io.tenantexport.common.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tenantexport.common.tenant.TenantId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyProvidersTest {
  private static final String PASSWORD = "s3cret-Pa55";
  private static final TenantId ACME = TenantId.of("acme", "test");

  @TempDir Path dir;
  private Path keystore;

  @BeforeEach
  void writeKeystore() {
    keystore =
        LocalKeystore.create(dir.resolve("keys.p12"), PASSWORD.toCharArray())
            .tenantKey(ACME, "k1", NoKeyMaterial.material(1))
            .quarantineKey("q1", NoKeyMaterial.material(2))
            .write();
  }

  @Test
  void localIsTheDefaultAndReadsThePasswordFilesFirstLine() throws IOException {
    Path passwordFile = Files.writeString(dir.resolve("password"), PASSWORD + "\nignored\n");

    try (KeyProvider keys =
        KeyProviders.open(
            Map.of("keystore", keystore.toString(), "password_file", passwordFile.toString()))) {
      assertThat(keys).isInstanceOf(LocalKeystore.class);
      assertThat(keys.tenantKey(ACME, "k1").getEncoded()).isEqualTo(NoKeyMaterial.material(1));
      assertThat(keys.quarantineKey("q1").getEncoded()).isEqualTo(NoKeyMaterial.material(2));
    }
  }

  @Test
  void aPasswordFileWithWindowsLineEndingsWorks() throws IOException {
    Path passwordFile = Files.writeString(dir.resolve("password"), PASSWORD + "\r\n");

    try (KeyProvider keys =
        KeyProviders.open(
            Map.of(
                "provider",
                "local",
                "keystore",
                keystore.toString(),
                "password_file",
                passwordFile.toString()))) {
      assertThat(keys.quarantineKey("q1")).isNotNull();
    }
  }

  @Test
  void withoutAPasswordFileThePasswordComesFromTheEnvironment() {
    Map<String, String> env = Map.of(KeyProviders.PASSWORD_ENV, PASSWORD);

    try (KeyProvider keys = KeyProviders.open(Map.of("keystore", keystore.toString()), env::get)) {
      assertThat(keys.quarantineKey("q1").getEncoded()).isEqualTo(NoKeyMaterial.material(2));
    }
  }

  @Test
  void noPasswordNamesBothWaysToGiveOne() {
    assertThatThrownBy(() -> KeyProviders.open(Map.of("keystore", keystore.toString()), k -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("keys.password_file")
        .hasMessageContaining("TENANT_EXPORT_KEYSTORE_PASSWORD")
        .hasMessageContaining(keystore.toString());
  }

  @Test
  void aWrongPasswordNamesTheOptionsButNotThePassword() throws IOException {
    Path passwordFile = Files.writeString(dir.resolve("password"), "hunter2\n");

    assertThatThrownBy(
            () ->
                KeyProviders.open(
                    Map.of(
                        "keystore", keystore.toString(), "password_file", passwordFile.toString())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("keys.keystore = " + keystore)
        .hasMessageContaining("keys.password_file = " + passwordFile)
        .hasMessageContaining("wrong password")
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void problemsWithTheLocalOptionsNameTheOption() throws IOException {
    Path empty = Files.writeString(dir.resolve("empty"), "\nsecond line\n");

    assertThatThrownBy(() -> KeyProviders.open(Map.of()))
        .hasMessageContaining("keys.keystore is required");
    assertThatThrownBy(
            () ->
                KeyProviders.open(
                    Map.of("keystore", keystore.toString(), "password_file", empty.toString())))
        .hasMessageContaining("keys.password_file = " + empty)
        .hasMessageContaining("first line");
    assertThatThrownBy(
            () ->
                KeyProviders.open(
                    Map.of("keystore", keystore.toString(), "password_file", "/no/such/file")))
        .hasMessageContaining("keys.password_file = /no/such/file")
        .hasMessageContaining("cannot read");
    assertThatThrownBy(() -> KeyProviders.open(Map.of("keystore", "/no/such.p12"), k -> PASSWORD))
        .hasMessageContaining("keys.keystore = /no/such.p12")
        .hasMessageContaining("no such file")
        .hasMessageNotContaining(PASSWORD);
    assertThatThrownBy(
            () -> KeyProviders.open(Map.of("keystore", keystore.toString(), "pasword_file", "x")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown option(s) [keys.pasword_file]");
    assertThatThrownBy(() -> KeyProviders.open(Map.of("provider", " ")))
        .hasMessageContaining("keys.provider is empty");
  }

  @Test
  void aFactoryClassIsLoadedByNameAndReceivesAllOptions() {
    Map<String, String> options =
        Map.of(
            "provider", RecordingFactory.class.getName(),
            "kms_uri", "https://kms.example/v1",
            "wrapped_keys", "/etc/tenant-export/keys.json");

    try (KeyProvider keys = KeyProviders.open(options)) {
      assertThat(keys).isInstanceOf(RecordingFactory.Recording.class);
      assertThat(((RecordingFactory.Recording) keys).options()).isEqualTo(options);
    }
  }

  @Test
  void aBadProviderClassFailsNamingTheOptionAndClass() {
    assertThatThrownBy(() -> KeyProviders.open(Map.of("provider", "com.example.NoSuchKms")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("keys.provider = \"com.example.NoSuchKms\"")
        .hasMessageContaining("no such class")
        .hasMessageContaining(KeyProvider.Factory.class.getCanonicalName());
    assertThatThrownBy(() -> KeyProviders.open(Map.of("provider", "java.lang.String")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("keys.provider = \"java.lang.String\"")
        .hasMessageContaining("does not implement");
    String needsArgument = RecordingFactory.NeedsArgument.class.getName();
    assertThatThrownBy(() -> KeyProviders.open(Map.of("provider", needsArgument)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(needsArgument)
        .hasMessageContaining("no public no-arg constructor");
    String unreachable = RecordingFactory.Unreachable.class.getName();
    assertThatThrownBy(
            () -> KeyProviders.open(Map.of("provider", unreachable, "kms_uri", "https://kms")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(unreachable)
        .hasMessageContaining("https://kms unreachable");
  }
}
