package dev.boxwood.server.runtime;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The default seccomp filter of every sandbox, as OCI JSON. It allows by default and denies what Docker's default
 * profile leaves out of its allow list for an unprivileged container: kernel-wide state (modules, kexec, reboot,
 * swap, clock, accounting, quotas), mounting and namespace creation, tracing and cross-process memory access, and
 * large kernel attack surface rarely needed by ordinary programs (bpf, perf, keyrings, userfaultfd, io_uring).
 * {@code clone3} answers ENOSYS so libc falls back to {@code clone}, whose namespace flags can be checked.
 */
public final class SeccompProfile {

    private static final int EPERM = 1;
    private static final int ENOSYS = 38;

    /** Denied outright with EPERM. Names unknown to the running kernel's libseccomp are ignored by crun. */
    static final List<String> DENIED = List.of(
            // filesystems and namespaces
            "mount", "umount", "umount2", "pivot_root", "unshare", "setns", "fsopen", "fsconfig", "fsmount", "fspick",
            "move_mount", "open_tree", "mount_setattr", "open_by_handle_at",
            // kernel state
            "init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms", "query_module",
            "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
            "settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64",
            "syslog", "_sysctl", "sysfs", "ustat", "uselib", "nfsservctl", "lookup_dcookie", "vhangup",
            "iopl", "ioperm", "vm86", "vm86old",
            // tracing and other processes' memory
            "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp", "pidfd_getfd",
            "move_pages", "migrate_pages",
            // large attack surface
            "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
            "io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init");

    /** Namespace-creating {@code clone} flags; any one of them set makes clone fail with EPERM. */
    private static final long[] NAMESPACE_FLAGS = {
            0x00020000L, // CLONE_NEWNS
            0x02000000L, // CLONE_NEWCGROUP
            0x04000000L, // CLONE_NEWUTS
            0x08000000L, // CLONE_NEWIPC
            0x10000000L, // CLONE_NEWUSER
            0x20000000L, // CLONE_NEWPID
            0x40000000L, // CLONE_NEWNET
    };

    /** {@code personality} values that weaken the process (no ASLR, executable data). */
    private static final long[] PERSONALITY_FLAGS = {
            0x0040000L, // ADDR_NO_RANDOMIZE
            0x0400000L, // READ_IMPLIES_EXEC
    };

    private SeccompProfile() {}

    public static ObjectNode json() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode seccomp = f.objectNode();
        seccomp.put("defaultAction", "SCMP_ACT_ALLOW");
        seccomp.putArray("architectures").add("SCMP_ARCH_X86_64").add("SCMP_ARCH_X86").add("SCMP_ARCH_X32");
        ArrayNode syscalls = seccomp.putArray("syscalls");
        ObjectNode denied = syscalls.addObject();
        ArrayNode names = denied.putArray("names");
        DENIED.forEach(names::add);
        denied.put("action", "SCMP_ACT_ERRNO");
        denied.put("errnoRet", EPERM);
        ObjectNode clone3 = syscalls.addObject();
        clone3.putArray("names").add("clone3");
        clone3.put("action", "SCMP_ACT_ERRNO");
        clone3.put("errnoRet", ENOSYS);
        for (long flag : NAMESPACE_FLAGS) {
            syscalls.add(maskedDeny(f, "clone", 0, flag));
        }
        for (long flag : PERSONALITY_FLAGS) {
            syscalls.add(maskedDeny(f, "personality", 0, flag));
        }
        return seccomp;
    }

    private static ObjectNode maskedDeny(JsonNodeFactory f, String syscall, int arg, long flag) {
        ObjectNode rule = f.objectNode();
        rule.putArray("names").add(syscall);
        rule.put("action", "SCMP_ACT_ERRNO");
        rule.put("errnoRet", EPERM);
        ObjectNode cmp = rule.putArray("args").addObject();
        cmp.put("index", arg);
        cmp.put("value", flag);
        cmp.put("valueTwo", flag);
        cmp.put("op", "SCMP_CMP_MASKED_EQ");
        return rule;
    }
}
