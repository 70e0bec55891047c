package dev.boxwood.server.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TemplatesTest {

    @Test
    void anAliasResolvesToItsTemplateAndIsNotListedTwice(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("code-interpreter-v1/rootfs"));
        Files.createSymbolicLink(dir.resolve("code-interpreter"), Path.of("code-interpreter-v1"));
        Templates templates = new Templates(dir);

        assertThat(templates.resolve("code-interpreter")).isEqualTo("code-interpreter-v1");
        assertThat(templates.resolve("code-interpreter-v1")).isEqualTo("code-interpreter-v1");
        assertThat(templates.resolve("../etc")).isEqualTo("../etc");
        assertThat(templates.exists(templates.resolve("code-interpreter"))).isTrue();
        assertThat(templates.list()).extracting(Templates.Template::name).containsExactly("code-interpreter-v1");
    }
}
