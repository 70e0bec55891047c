package dev.boxwood.server.template;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Where templates live: recipes under {@code <home>/templates/<name>/}, built root filesystems under
 * {@code <dataDir>/templates/<name>/rootfs} with a {@code template.properties} beside it that records the recipe hash
 * the build came from.
 */
public final class TemplateStore {

    /** Bumped when the build procedure changes in a way that must rebuild every template. */
    static final String BUILD_FORMAT = "boxwood-template-v1";

    public enum State { BUILT, STALE, NOT_BUILT }

    /** A row of {@code boxwood template list}. */
    public record Entry(String name, State state, String parent, String builtAt, boolean hasRecipe) {}

    private final Path recipes;
    private final Path dataDir;

    public TemplateStore(Path recipes, Path dataDir) {
        this.recipes = recipes;
        this.dataDir = dataDir;
    }

    /** The data directory from system property {@code boxwood.dataDir}, else {@code /var/lib/boxwood}. */
    public static Path defaultDataDir() {
        return Path.of(System.getProperty("boxwood.dataDir", "/var/lib/boxwood"));
    }

    /** The recipes of the checkout at system property {@code boxwood.home} (env {@code BOXWOOD_HOME}), else cwd. */
    public static Path defaultRecipes() {
        String home = System.getProperty("boxwood.home", System.getenv().getOrDefault("BOXWOOD_HOME", "."));
        return Path.of(home).resolve("templates");
    }

    public Path recipes() {
        return recipes;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path templatesDir() {
        return dataDir.resolve("templates");
    }

    public Path templateDir(String name) {
        return templatesDir().resolve(name);
    }

    /** The built root filesystem of {@code name}, stored with ownership shifted into the sandbox uid range. */
    public Path rootfs(String name) {
        return templateDir(name).resolve("rootfs");
    }

    public boolean isBuilt(String name) {
        return TemplateRecipe.validName(name) && Files.isRegularFile(templateDir(name).resolve("template.properties"))
                && Files.isDirectory(rootfs(name));
    }

    public boolean hasRecipe(String name) {
        return TemplateRecipe.validName(name) && Files.isRegularFile(recipes.resolve(name).resolve("template.json"));
    }

    public TemplateRecipe recipe(String name) {
        return TemplateRecipe.load(recipes, name);
    }

    /** Hash of a recipe's files and, recursively, of its parent's recipe. */
    public String hash(TemplateRecipe recipe) {
        return hash(recipe, new TreeSet<>());
    }

    private String hash(TemplateRecipe recipe, TreeSet<String> seen) {
        if (!seen.add(recipe.name())) {
            throw new TemplateBuildFailure("template parents form a cycle through '" + recipe.name() + "'");
        }
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update((BUILD_FORMAT + "\n").getBytes(StandardCharsets.UTF_8));
            if (recipe.parent() != null) {
                // A parent built elsewhere (no recipe here) contributes the hash its build recorded.
                String parentHash = hasRecipe(recipe.parent()) ? hash(recipe(recipe.parent()), seen)
                        : builtProperties(recipe.parent()).map(p -> p.getProperty("hash", "")).orElse("");
                digest.update(parentHash.getBytes(StandardCharsets.UTF_8));
            }
            List<Path> files;
            try (Stream<Path> walk = Files.walk(recipe.dir())) {
                files = walk.filter(Files::isRegularFile).sorted().toList();
            }
            for (Path file : files) {
                digest.update(recipe.dir().relativize(file).toString().getBytes(StandardCharsets.UTF_8));
                digest.update((byte) 0);
                digest.update(Files.readAllBytes(file));
                digest.update((byte) 0);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new TemplateBuildFailure("cannot read recipe " + recipe.dir() + ": " + e.getMessage());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What the last successful build of {@code name} recorded, if any. */
    public Optional<Properties> builtProperties(String name) {
        Path file = templateDir(name).resolve("template.properties");
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            props.load(in);
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.of(props);
    }

    void writeProperties(Path dir, TemplateRecipe recipe, String hash) throws IOException {
        Properties props = new Properties();
        props.setProperty("name", recipe.name());
        props.setProperty("hash", hash);
        props.setProperty("builtAt", java.time.Instant.now().toString());
        if (recipe.parent() != null) {
            props.setProperty("parent", recipe.parent());
        }
        try (OutputStream out = Files.newOutputStream(dir.resolve("template.properties"))) {
            props.store(out, "written by boxwood template build");
        }
    }

    public State state(String name) {
        if (!isBuilt(name)) {
            return State.NOT_BUILT;
        }
        if (!Files.isRegularFile(recipes.resolve(name).resolve("template.json"))) {
            return State.BUILT; // built from elsewhere (e.g. by the API); nothing to compare with
        }
        String built = builtProperties(name).map(p -> p.getProperty("hash")).orElse("");
        return built.equals(hash(recipe(name))) ? State.BUILT : State.STALE;
    }

    /** Every template with a recipe or a build, sorted by name. */
    public List<Entry> list() {
        TreeSet<String> names = new TreeSet<>();
        for (Path dir : List.of(recipes, templatesDir())) {
            if (Files.isDirectory(dir)) {
                try (Stream<Path> children = Files.list(dir)) {
                    children.map(p -> p.getFileName().toString()).filter(TemplateRecipe::validName)
                            .filter(n -> Files.isRegularFile(recipes.resolve(n).resolve("template.json")) || isBuilt(n))
                            .forEach(names::add);
                } catch (IOException e) {
                    throw new TemplateBuildFailure("cannot list " + dir + ": " + e.getMessage());
                }
            }
        }
        List<Entry> entries = new ArrayList<>();
        for (String name : names) {
            boolean hasRecipe = Files.isRegularFile(recipes.resolve(name).resolve("template.json"));
            Optional<Properties> props = builtProperties(name);
            String parent = hasRecipe ? recipe(name).parent() : props.map(p -> p.getProperty("parent")).orElse(null);
            entries.add(new Entry(name, state(name), parent,
                    props.map(p -> p.getProperty("builtAt")).orElse(null), hasRecipe));
        }
        return entries;
    }
}
