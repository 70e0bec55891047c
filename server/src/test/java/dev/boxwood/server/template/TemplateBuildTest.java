package dev.boxwood.server.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.boxwood.server.runtime.HostCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Builds child templates of the real {@code base} (as {@code code-interpreter-v1} is built), in a private data dir
 * that links the built base in. Needs root, network access to the Debian mirror, and base built.
 */
class TemplateBuildTest {

    Path work;
    TemplateStore store;
    List<String> progress = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        Path realData = Path.of(System.getProperty("boxwood.dataDir", "/var/lib/boxwood"));
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        assumeTrue(Files.isRegularFile(realData.resolve("templates/base/template.properties")), "needs base built");
        work = Files.createTempDirectory(Path.of("/var/tmp"), "boxwood-template-test-");
        Path recipes = Files.createDirectories(work.resolve("recipes"));
        Path data = Files.createDirectories(work.resolve("data"));
        Files.createDirectories(data.resolve("templates"));
        // The recipes dir has no base recipe, so the linked base counts as built and is never rebuilt here.
        Files.createSymbolicLink(data.resolve("templates/base"), realData.resolve("templates/base"));
        Files.createDirectories(data.resolve("cache"));
        Files.createSymbolicLink(data.resolve("cache/apt"), realData.resolve("cache/apt"));
        store = new TemplateStore(recipes, data);
    }

    @AfterEach
    void tearDown() {
        if (work != null) {
            HostCommand.run(List.of("rm", "-rf", "--one-file-system", work.toString()));
        }
    }

    private void recipe(String name, String json, String setup) throws IOException {
        Path dir = Files.createDirectories(store.recipes().resolve(name));
        Files.writeString(dir.resolve("template.json"), json);
        if (setup != null) {
            Files.writeString(dir.resolve("setup.sh"), setup);
        }
        Files.writeString(dir.resolve("motd.txt"), "hello from the recipe\n");
    }

    @Test
    void childTemplateGetsPackagesSetupAndShiftedOwnership() throws IOException {
        recipe("child", "{\"parent\":\"base\",\"packages\":[\"jq\"]}",
                "cp /tmp/boxwood-recipe/motd.txt /etc/motd\nmkdir -p /home/user/work\nchown user:user /home/user/work\n"
                        + "echo setup-ran\n");
        Path rootfs = new TemplateBuilder(store, progress::add).build("child", false);
        assertThat(rootfs).isEqualTo(store.rootfs("child"));
        assertThat(rootfs.resolve("usr/bin/jq")).exists();
        assertThat(Files.readString(rootfs.resolve("etc/motd"))).contains("hello from the recipe");
        assertThat(rootfs.resolve("tmp/boxwood-recipe")).doesNotExist();
        assertThat(Files.getAttribute(rootfs.resolve("usr/bin/jq"), "unix:uid", LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(100_000);
        assertThat(Files.getAttribute(rootfs.resolve("home/user/work"), "unix:uid")).isEqualTo(101_000);
        assertThat((Integer) Files.getAttribute(rootfs.resolve("usr/bin/sudo"), "unix:mode") & 04000)
                .isEqualTo(04000);
        assertThat(progress).anyMatch(l -> l.contains("[3/6]")).anyMatch(l -> l.contains("setup-ran"));
        assertThat(store.state("child")).isEqualTo(TemplateStore.State.BUILT);

        // Cached: a second build is a no-op.
        progress.clear();
        new TemplateBuilder(store, progress::add).build("child", false);
        assertThat(progress).containsExactly("template child: up to date");
        try (var leftovers = Files.list(store.templatesDir())) {
            assertThat(leftovers.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".build-")))
                    .isEmpty();
        }
    }

    @Test
    void missingPackageFailsWithOneClearLineAndKeepsNothing() throws IOException {
        recipe("nope", "{\"parent\":\"base\",\"packages\":[\"boxwood-no-such-package\"]}", null);
        List<String> before = new ArrayList<>(HostCommand.check(List.of("cat", "/proc/self/mountinfo")).lines()
                .filter(l -> l.contains(work.toString())).toList());
        assertThatThrownBy(() -> new TemplateBuilder(store, progress::add).build("nope", false))
                .isInstanceOf(TemplateBuildFailure.class)
                .hasMessage("template nope: package 'boxwood-no-such-package' cannot be had: no such package in the "
                        + "configured Debian suites");
        assertThat(store.isBuilt("nope")).isFalse();
        assertThat(HostCommand.check(List.of("cat", "/proc/self/mountinfo")).lines()
                .filter(l -> l.contains(work.toString())).toList()).isEqualTo(before);
        try (var leftovers = Files.list(store.templatesDir())) {
            assertThat(leftovers.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".build-")))
                    .isEmpty();
        }
    }
}
