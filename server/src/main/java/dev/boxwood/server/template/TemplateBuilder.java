package dev.boxwood.server.template;

import dev.boxwood.server.runtime.HostCommand;
import dev.boxwood.server.runtime.RuntimeFailure;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds template root filesystems: a root template with debootstrap, a child by copying its parent; then apt
 * installs the recipe's packages in a chroot and its {@code setup.sh} runs there. The result is shifted into the
 * sandbox uid range and renamed into place atomically, so a failed or interrupted build never replaces a good one.
 * Downloaded .debs are cached under {@code <dataDir>/cache} so rebuilds only fetch what changed.
 */
public final class TemplateBuilder {

    private static final Pattern NEWLY_INSTALLED = Pattern.compile("(\\d+) newly installed");
    private static final Pattern UNABLE_TO_LOCATE = Pattern.compile("E: Unable to locate package (\\S+)");
    private static final Pattern NO_CANDIDATE = Pattern.compile("E: Package '([^']+)' has no installation candidate");
    private static final Map<String, String> CHROOT_ENV = Map.of(
            "DEBIAN_FRONTEND", "noninteractive", "LC_ALL", "C", "LANG", "C",
            "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME", "/root");

    private final TemplateStore store;
    private final Consumer<String> progress;

    public TemplateBuilder(TemplateStore store, Consumer<String> progress) {
        this.store = store;
        this.progress = progress;
    }

    /** Builds {@code name} (and its parents) unless the built copy already matches the recipe; returns the rootfs. */
    public Path ensureBuilt(String name) {
        return build(name, false);
    }

    /** Builds {@code name}; with {@code force} even when the built copy is current. Parents are built if needed. */
    public Path build(String name, boolean force) {
        TemplateRecipe recipe = store.recipe(name);
        if (recipe.parent() != null) {
            if (store.hasRecipe(recipe.parent())) {
                build(recipe.parent(), false);
            } else if (!store.isBuilt(recipe.parent())) {
                throw new TemplateBuildFailure("template " + name + ": parent template '" + recipe.parent()
                        + "' has no recipe and is not built");
            }
        }
        try {
            Files.createDirectories(store.templatesDir());
        } catch (IOException e) {
            throw new TemplateBuildFailure("cannot create " + store.templatesDir() + ": " + e.getMessage());
        }
        // One build per template at a time, across processes (serve and test may race).
        Path lockFile = store.templatesDir().resolve("." + name + ".lock");
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = channel.lock()) {
            String hash = store.hash(recipe);
            if (!force && store.state(name) == TemplateStore.State.BUILT) {
                progress.accept("template " + name + ": up to date");
            } else {
                buildLocked(recipe, hash);
            }
            linkAliases(recipe);
            return store.rootfs(name);
        } catch (IOException e) {
            throw new TemplateBuildFailure("cannot lock " + lockFile + ": " + e.getMessage());
        }
    }

    private void buildLocked(TemplateRecipe recipe, String hash) throws IOException {
        String name = recipe.name();
        long started = System.nanoTime();
        Path work = store.templatesDir().resolve(".build-" + name + "-" + UUID.randomUUID().toString().substring(0, 8));
        Path rootfs = work.resolve("rootfs");
        Files.createDirectories(work);
        int steps = 6;
        try {
            if (recipe.parent() == null) {
                step(1, steps, name, "debootstrap " + recipe.suite() + " from " + recipe.mirror());
                debootstrap(recipe, rootfs);
            } else {
                step(1, steps, name, "copying parent template " + recipe.parent());
                copyParent(recipe.parent(), rootfs);
            }
            List<Path> mounts = new ArrayList<>();
            try {
                step(2, steps, name, "preparing chroot");
                prepareChroot(recipe, rootfs, mounts);
                if (!recipe.packages().isEmpty()) {
                    step(3, steps, name, "installing " + recipe.packages().size() + " packages with apt");
                    aptInstall(recipe, rootfs);
                } else {
                    step(3, steps, name, "no packages to install");
                }
                if (recipe.setup() != null) {
                    step(4, steps, name, "running " + recipe.dir().relativize(recipe.setup()));
                    runSetup(recipe, rootfs);
                } else {
                    step(4, steps, name, "no setup script");
                }
                step(5, steps, name, "cleaning up");
                cleanChroot(rootfs);
            } finally {
                unmountAll(mounts);
            }
            step(6, steps, name, "shifting ownership into the sandbox uid range");
            Ownership.shift(rootfs, 0, Ownership.HOST_BASE);
            store.writeProperties(work, recipe, hash);
            replace(name, work);
            progress.accept(String.format("template %s: built in %.0f s", name, (System.nanoTime() - started) / 1e9));
        } catch (RuntimeException | IOException e) {
            deleteTree(work);
            if (e instanceof TemplateBuildFailure failure) {
                throw failure;
            }
            throw new TemplateBuildFailure("template " + name + ": " + e.getMessage());
        }
    }

    private void step(int n, int of, String name, String what) {
        progress.accept("template " + name + ": [" + n + "/" + of + "] " + what);
    }

    private void debootstrap(TemplateRecipe recipe, Path rootfs) throws IOException {
        Path cache = store.dataDir().resolve("cache/debootstrap");
        Files.createDirectories(cache);
        Condenser condenser = new Condenser("debootstrap");
        HostCommand.Result result = HostCommand.run(List.of("debootstrap", "--variant=minbase",
                        "--cache-dir=" + cache, recipe.suite(), rootfs.toString(), recipe.mirror()),
                null, null, Map.of("LC_ALL", "C"), condenser::debootstrapLine);
        condenser.finish();
        if (!result.ok()) {
            throw new TemplateBuildFailure("template " + recipe.name() + ": debootstrap failed: "
                    + lastMatching(result.output(), "E: ", "debootstrap exited with " + result.exitCode()));
        }
    }

    private void copyParent(String parent, Path rootfs) {
        Path source = store.rootfs(parent);
        if (!Files.isDirectory(source)) {
            throw new TemplateBuildFailure("parent template " + parent + " is not built");
        }
        HostCommand.Result copy = HostCommand.run(List.of("cp", "-a", "--reflink=auto", source.toString(),
                rootfs.toString()));
        if (!copy.ok()) {
            throw new TemplateBuildFailure("copying parent template " + parent + " failed: " + firstLine(copy.output()));
        }
        // The copy keeps the parent's shifted owners (100000+). apt and the setup script run as the host's real
        // root, which may write anything; what they create is owned by ids below 65536 and is shifted at the end,
        // while the parent's files, already in the sandbox range, are left as they are.
    }

    private void prepareChroot(TemplateRecipe recipe, Path rootfs, List<Path> mounts) throws IOException {
        Path etc = rootfs.resolve("etc");
        if (recipe.parent() == null) {
            String mirror = recipe.mirror();
            StringBuilder sources = new StringBuilder()
                    .append("deb ").append(mirror).append(' ').append(recipe.suite()).append(" main\n")
                    .append("deb ").append(mirror).append(' ').append(recipe.suite()).append("-updates main\n");
            if (mirror.endsWith("/debian")) {
                sources.append("deb ").append(mirror).append("-security ").append(recipe.suite())
                        .append("-security main\n");
            }
            Files.writeString(etc.resolve("apt/sources.list"), sources.toString());
        }
        // Package scripts must not start services on the build host.
        Path policy = rootfs.resolve("usr/sbin/policy-rc.d");
        Files.writeString(policy, "#!/bin/sh\nexit 101\n");
        policy.toFile().setExecutable(true);
        Files.deleteIfExists(etc.resolve("resolv.conf"));
        Files.copy(Path.of("/etc/resolv.conf"), etc.resolve("resolv.conf"), StandardCopyOption.REPLACE_EXISTING);
        Path archives = store.dataDir().resolve("cache/apt/archives");
        Files.createDirectories(archives.resolve("partial"));
        Files.createDirectories(rootfs.resolve("var/cache/apt/archives"));
        mount(mounts, rootfs.resolve("proc"), "-t", "proc", "proc");
        mount(mounts, rootfs.resolve("dev"), "--bind", "/dev");
        mount(mounts, rootfs.resolve("dev/pts"), "--bind", "/dev/pts");
        mount(mounts, rootfs.resolve("var/cache/apt/archives"), "--bind", archives.toString());
    }

    private static void mount(List<Path> mounts, Path target, String... args) throws IOException {
        Files.createDirectories(target);
        List<String> command = new ArrayList<>(List.of("mount"));
        command.addAll(List.of(args));
        command.add(target.toString());
        HostCommand.check(command);
        mounts.add(target);
    }

    private static void unmountAll(List<Path> mounts) {
        for (int i = mounts.size() - 1; i >= 0; i--) {
            Path target = mounts.get(i);
            if (!HostCommand.run(List.of("umount", target.toString())).ok()) {
                HostCommand.run(List.of("umount", "-l", target.toString()));
            }
        }
    }

    /** Builds share one package cache, which apt locks; builds of different templates take turns for this step. */
    private void aptInstall(TemplateRecipe recipe, Path rootfs) throws IOException {
        Path lockFile = store.dataDir().resolve("cache/apt/boxwood.lock");
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock = channel.tryLock();
            if (lock == null) {
                progress.accept("template " + recipe.name() + ": waiting for another build's apt step");
                lock = channel.lock();
            }
            try (FileLock ignored = lock) {
                aptInstallLocked(recipe, rootfs);
            }
        }
    }

    private void aptInstallLocked(TemplateRecipe recipe, Path rootfs) {
        Condenser condenser = new Condenser("apt");
        HostCommand.Result update = chroot(rootfs, List.of("apt-get", "update", "-q"), condenser::aptLine);
        if (!update.ok()) {
            throw new TemplateBuildFailure("template " + recipe.name() + ": apt-get update failed: "
                    + lastMatching(update.output(), "E: ", "exit " + update.exitCode()));
        }
        List<String> install = new ArrayList<>(List.of("apt-get", "install", "-y", "-q", "--no-install-recommends",
                "-o", "Dpkg::Use-Pty=0", "-o", "APT::Keep-Downloaded-Packages=true"));
        install.addAll(recipe.packages());
        HostCommand.Result result = chroot(rootfs, install, condenser::aptLine);
        condenser.finishApt();
        if (!result.ok()) {
            String output = result.output();
            Matcher missing = UNABLE_TO_LOCATE.matcher(output);
            if (missing.find()) {
                throw new TemplateBuildFailure("template " + recipe.name() + ": package '" + missing.group(1)
                        + "' cannot be had: no such package in the configured Debian suites");
            }
            Matcher candidate = NO_CANDIDATE.matcher(output);
            if (candidate.find()) {
                throw new TemplateBuildFailure("template " + recipe.name() + ": package '" + candidate.group(1)
                        + "' cannot be had: it has no installation candidate");
            }
            throw new TemplateBuildFailure("template " + recipe.name() + ": apt-get install failed: "
                    + lastMatching(output, "E: ", "exit " + result.exitCode()));
        }
    }

    private void runSetup(TemplateRecipe recipe, Path rootfs) {
        // The whole recipe directory is visible to the script, so it can copy files that sit beside it.
        Path copy = rootfs.resolve("tmp/boxwood-recipe");
        deleteTree(copy);
        HostCommand.check(List.of("cp", "-r", recipe.dir().toString(), copy.toString()));
        Deque<String> tail = new ArrayDeque<>();
        String script = "/tmp/boxwood-recipe/" + recipe.dir().relativize(recipe.setup());
        HostCommand.Result result = chroot(rootfs, List.of("/bin/bash", "-eu", script), line -> {
            progress.accept("  setup: " + line);
            tail.add(line);
            if (tail.size() > 5) {
                tail.removeFirst();
            }
        });
        deleteTree(copy);
        if (!result.ok()) {
            throw new TemplateBuildFailure("template " + recipe.name() + ": " + recipe.setup().getFileName()
                    + " failed with exit " + result.exitCode() + (tail.isEmpty() ? "" : ": " + tail.getLast()));
        }
    }

    private static HostCommand.Result chroot(Path rootfs, List<String> command, Consumer<String> lines) {
        List<String> full = new ArrayList<>(List.of("chroot", rootfs.toString()));
        full.addAll(command);
        return HostCommand.run(full, null, null, CHROOT_ENV, lines);
    }

    private void cleanChroot(Path rootfs) throws IOException {
        chroot(rootfs, List.of("apt-get", "clean"), line -> {});
        Files.deleteIfExists(rootfs.resolve("usr/sbin/policy-rc.d"));
        // The runtime writes a per-sandbox resolv.conf, hosts and hostname.
        Files.deleteIfExists(rootfs.resolve("etc/resolv.conf"));
        for (String dir : List.of("var/lib/apt/lists", "tmp", "var/tmp", "var/log/apt")) {
            Path path = rootfs.resolve(dir);
            if (Files.isDirectory(path)) {
                try (var children = Files.list(path)) {
                    for (Path child : children.toList()) {
                        if (!child.getFileName().toString().equals("partial")) {
                            deleteTree(child);
                        }
                    }
                }
            }
        }
    }

    /** An alias is a relative symlink next to the template, so the server resolves it like any template name. */
    private void linkAliases(TemplateRecipe recipe) throws IOException {
        for (String alias : recipe.aliases()) {
            Path link = store.templatesDir().resolve(alias);
            if (Files.isSymbolicLink(link) && Files.readSymbolicLink(link).toString().equals(recipe.name())) {
                continue;
            }
            if (Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(link)) {
                throw new TemplateBuildFailure("template " + recipe.name() + ": alias " + alias
                        + " is already a template of its own");
            }
            Files.deleteIfExists(link);
            Files.createSymbolicLink(link, Path.of(recipe.name()));
        }
    }

    /**
     * Swaps the finished build into place: rename the old one aside, rename the new one in, delete the old one unless
     * running sandboxes still have it as their overlay's lower layer (then it stays until a later build finds it
     * unused).
     */
    private void replace(String name, Path work) throws IOException {
        Path target = store.templateDir(name);
        Path old = store.templatesDir().resolve(".old-" + name + "-" + UUID.randomUUID().toString().substring(0, 8));
        boolean inUse = lowerLayerInUse(target);
        boolean hadOld = Files.exists(target);
        if (hadOld) {
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
        if (hadOld && inUse) {
            progress.accept("template " + name + ": previous build kept while running sandboxes use it");
        }
        if (!inUse) {
            try (var children = Files.list(store.templatesDir())) {
                for (Path child : children.toList()) {
                    if (child.getFileName().toString().startsWith(".old-" + name + "-")) {
                        deleteTree(child);
                    }
                }
            }
        }
    }

    /** Whether any overlay mount on this host was made with this template's rootfs as a lower layer. */
    private static boolean lowerLayerInUse(Path templateDir) {
        String needle = "lowerdir=" + templateDir.resolve("rootfs");
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                if (line.contains(" - overlay ") && (line.contains(needle + ",") || line.contains(needle + ":"))) {
                    return true;
                }
            }
        } catch (IOException e) {
            return true; // cannot tell: keep it
        }
        return false;
    }

    static void deleteTree(Path path) {
        if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try {
                HostCommand.check(List.of("rm", "-rf", "--one-file-system", path.toString()));
            } catch (RuntimeFailure e) {
                // best effort: a later build uses a fresh directory name anyway
            }
        }
    }

    private static String lastMatching(String output, String prefix, String fallback) {
        String found = null;
        for (String line : output.split("\n")) {
            if (line.startsWith(prefix)) {
                found = line.substring(prefix.length()).strip();
            }
        }
        return found != null ? found : fallback;
    }

    private static String firstLine(String output) {
        int nl = output.indexOf('\n');
        return nl < 0 ? output : output.substring(0, nl);
    }

    /** Turns thousands of tool lines into a few progress lines: one per phase, with counts. */
    private final class Condenser {
        private final String tool;
        private String phase;
        private int count;
        private int total;

        Condenser(String tool) {
            this.tool = tool;
        }

        void debootstrapLine(String line) {
            if (line.startsWith("E: ") || line.startsWith("W: ")) {
                progress.accept("  " + tool + ": " + line);
                return;
            }
            if (!line.startsWith("I: ")) {
                return;
            }
            String rest = line.substring(3);
            int space = rest.indexOf(' ');
            String verb = space < 0 ? rest : rest.substring(0, space);
            if (verb.equals("Retrieving") || verb.equals("Validating") || verb.equals("Extracting")
                    || verb.equals("Unpacking") || verb.equals("Configuring")) {
                phase(verb.toLowerCase() + " packages");
                count++;
            } else {
                phase(null);
                progress.accept("  " + tool + ": " + rest);
            }
        }

        private int downloaded;
        private int unpacked;
        private int configured;

        void aptLine(String line) {
            Matcher newly = NEWLY_INSTALLED.matcher(line);
            if (newly.find()) {
                total = Integer.parseInt(newly.group(1));
                progress.accept("  apt: " + line.strip());
            } else if (line.startsWith("Get:")) {
                downloaded++;
            } else if (line.startsWith("Unpacking ")) {
                unpacked++;
                every50(unpacked, "unpacked");
            } else if (line.startsWith("Setting up ")) {
                configured++;
                every50(configured, "set up");
            } else if (line.startsWith("E: ") || line.startsWith("W: ")) {
                progress.accept("  apt: " + line);
            }
        }

        private void every50(int n, String what) {
            if (n % 50 == 0) {
                progress.accept("  apt: " + what + " " + n + (total > 0 ? "/" + total : "") + " packages");
            }
        }

        void finishApt() {
            progress.accept("  apt: " + downloaded + " downloaded, " + unpacked + " unpacked, " + configured
                    + " set up");
        }

        private void phase(String next) {
            if (next != null && next.equals(phase)) {
                return;
            }
            finish();
            phase = next;
            count = 0;
        }

        void finish() {
            if (phase != null && count > 0) {
                progress.accept("  " + tool + ": " + phase + ": " + count + " done");
            }
            phase = null;
            count = 0;
        }
    }
}
