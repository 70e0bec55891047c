package dev.boxwood.server.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Recipe parsing and the hash that decides when a template is rebuilt. No root needed. */
class TemplateStoreTest {

    @TempDir
    Path tmp;

    private Path recipe(String name, String json) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("recipes").resolve(name));
        Files.writeString(dir.resolve("template.json"), json);
        return dir;
    }

    private TemplateStore store() {
        return new TemplateStore(tmp.resolve("recipes"), tmp.resolve("data"));
    }

    @Test
    void readsTheRepositoryRecipes() {
        TemplateStore repo = new TemplateStore(Path.of("").toAbsolutePath().getParent().resolve("templates"),
                tmp.resolve("data"));
        TemplateRecipe base = repo.recipe("base");
        assertThat(base.parent()).isNull();
        assertThat(base.suite()).isEqualTo("bookworm");
        assertThat(base.packages()).contains("python3", "python3-pip", "git", "curl", "sudo", "nodejs", "npm", "tini",
                "ca-certificates", "iproute2", "util-linux", "procps");
        assertThat(base.setup()).isNotNull();
        assertThat(repo.state("base")).isEqualTo(TemplateStore.State.NOT_BUILT);
    }

    @Test
    void hashFollowsEveryRecipeFileAndTheParent() throws IOException {
        Path base = recipe("root", "{\"packages\":[\"bash\"]}");
        Path child = recipe("child", "{\"parent\":\"root\",\"packages\":[\"jq\"]}");
        TemplateStore store = store();
        String childHash = store.hash(store.recipe("child"));
        assertThat(store.hash(store.recipe("child"))).isEqualTo(childHash);

        Files.writeString(child.resolve("setup.sh"), "echo hi\n");
        String withSetup = store.hash(store.recipe("child"));
        assertThat(withSetup).isNotEqualTo(childHash);
        assertThat(store.recipe("child").setup()).isEqualTo(child.resolve("setup.sh"));

        Files.writeString(base.resolve("extra.conf"), "x=1\n");
        assertThat(store.hash(store.recipe("child"))).isNotEqualTo(withSetup);
    }

    @Test
    void badRecipesFailWithOneLine() throws IOException {
        recipe("broken", "{ not json");
        recipe("badpkg", "{\"packages\":[\"rm -rf /\"]}");
        recipe("self", "{\"parent\":\"self\"}");
        recipe("loop-a", "{\"parent\":\"loop-b\"}");
        recipe("loop-b", "{\"parent\":\"loop-a\"}");
        TemplateStore store = store();
        assertThatThrownBy(() -> store.recipe("missing")).isInstanceOf(TemplateBuildFailure.class)
                .hasMessageContaining("no template 'missing'");
        assertThatThrownBy(() -> store.recipe("broken")).hasMessageContaining("not valid JSON")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThatThrownBy(() -> store.recipe("badpkg")).hasMessageContaining("invalid package name");
        assertThatThrownBy(() -> store.recipe("self")).hasMessageContaining("its own parent");
        assertThatThrownBy(() -> store.hash(store.recipe("loop-a"))).hasMessageContaining("cycle");
        assertThatThrownBy(() -> store.recipe("../etc")).hasMessageContaining("invalid template name");
    }

    @Test
    void listShowsRecipesAndBuilds() throws IOException {
        recipe("alpha", "{\"packages\":[]}");
        TemplateStore store = store();
        Files.createDirectories(store.rootfs("alpha"));
        store.writeProperties(store.templateDir("alpha"), store.recipe("alpha"), store.hash(store.recipe("alpha")));
        assertThat(store.state("alpha")).isEqualTo(TemplateStore.State.BUILT);
        Files.writeString(tmp.resolve("recipes/alpha/setup.sh"), "true\n");
        assertThat(store.state("alpha")).isEqualTo(TemplateStore.State.STALE);
        assertThat(store.list()).extracting(TemplateStore.Entry::name).containsExactly("alpha");
    }
}
