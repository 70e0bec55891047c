package dev.boxwood.server.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A template's recipe: {@code templates/<name>/template.json} plus an optional {@code setup.sh}. The format is
 * documented in {@code templates/README.md}.
 *
 * @param name     directory name, also the template id sandboxes ask for
 * @param dir      the recipe directory
 * @param parent   template whose root filesystem this one starts from, or null for a debootstrapped root
 * @param suite    Debian suite for a root without parent
 * @param mirror   Debian mirror for a root without parent
 * @param packages Debian packages installed with apt in a chroot
 * @param setup    shell script run with bash in the chroot after the packages, or null
 * @param aliases  other names a sandbox may ask for this template by (E2B's {@code code-interpreter})
 */
public record TemplateRecipe(String name, Path dir, String parent, String suite, String mirror, List<String> packages,
                             Path setup, List<String> aliases) {

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final Pattern PACKAGE = Pattern.compile("[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?(=[A-Za-z0-9.+:~-]+)?");
    private static final ObjectMapper JSON = new ObjectMapper();

    public static boolean validName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /** Reads {@code <recipes>/<name>/template.json}; throws {@link TemplateBuildFailure} with one line on any problem. */
    public static TemplateRecipe load(Path recipes, String name) {
        if (!validName(name)) {
            throw new TemplateBuildFailure("invalid template name '" + name + "'");
        }
        Path dir = recipes.resolve(name);
        Path file = dir.resolve("template.json");
        if (!Files.isRegularFile(file)) {
            throw new TemplateBuildFailure("no template '" + name + "' (expected a recipe at " + file + ")");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new TemplateBuildFailure(file + " is not valid JSON: " + firstLine(e.getMessage()));
        }
        String parent = text(root, "parent");
        if (parent != null && !validName(parent)) {
            throw new TemplateBuildFailure(file + ": invalid parent '" + parent + "'");
        }
        if (name.equals(parent)) {
            throw new TemplateBuildFailure(file + ": a template cannot be its own parent");
        }
        List<String> packages = new ArrayList<>();
        for (JsonNode item : root.path("packages")) {
            String pkg = item.asText();
            if (!PACKAGE.matcher(pkg).matches()) {
                throw new TemplateBuildFailure(file + ": invalid package name '" + pkg + "'");
            }
            packages.add(pkg);
        }
        String suite = parent == null ? orDefault(text(root, "suite"), "bookworm") : null;
        String mirror = parent == null ? orDefault(text(root, "mirror"), "http://deb.debian.org/debian") : null;
        Path setup = dir.resolve(orDefault(text(root, "setup"), "setup.sh"));
        if (!Files.isRegularFile(setup)) {
            if (text(root, "setup") != null) {
                throw new TemplateBuildFailure(file + ": setup script " + setup + " does not exist");
            }
            setup = null;
        }
        List<String> aliases = new ArrayList<>();
        for (JsonNode item : root.path("aliases")) {
            String alias = item.asText();
            if (!validName(alias) || alias.equals(name)) {
                throw new TemplateBuildFailure(file + ": invalid alias '" + alias + "'");
            }
            aliases.add(alias);
        }
        return new TemplateRecipe(name, dir, parent, suite, mirror, List.copyOf(packages), setup, List.copyOf(aliases));
    }

    private static String text(JsonNode root, String field) {
        JsonNode node = root.get(field);
        return node == null || node.isNull() ? null : node.asText();
    }

    private static String orDefault(String value, String fallback) {
        return value == null || value.isBlank() ? fallback : value;
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
