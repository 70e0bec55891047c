package dev.boxwood.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every method SandboxRuntime has, ForwardingRuntime forwards: a new one cannot silently fall back to a default. */
class ForwardingRuntimeTest {

    static List<Method> interfaceMethods() {
        return Arrays.stream(SandboxRuntime.class.getDeclaredMethods())
                .filter(m -> !Modifier.isStatic(m.getModifiers()) && !m.isSynthetic())
                .toList();
    }

    @Test
    void forwardingRuntimeOverridesEveryMethodOfTheInterface() {
        List<String> missing = interfaceMethods().stream()
                .filter(m -> !declaredBy(ForwardingRuntime.class, m))
                .map(Method::toString)
                .toList();
        assertThat(missing).as("SandboxRuntime methods ForwardingRuntime does not override").isEmpty();
    }

    @Test
    void everyCallReachesTheWrappedRuntimeWithItsArguments() throws Exception {
        List<String> seen = new ArrayList<>();
        SandboxRuntime recorder = (SandboxRuntime) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {SandboxRuntime.class}, (proxy, method, args) -> {
                    seen.add(method.getName() + Arrays.toString(args == null ? new Object[0] : args));
                    return zero(method.getReturnType());
                });
        ForwardingRuntime forwarding = new ForwardingRuntime(recorder);
        for (Method m : interfaceMethods()) {
            Object[] args = new Object[m.getParameterCount()];
            for (int i = 0; i < args.length; i++) {
                Class<?> type = m.getParameterTypes()[i];
                args[i] = type == String.class ? "sbx-" + i : type == int.class ? (Object) (i + 7) : null;
            }
            seen.clear();
            m.invoke(forwarding, args);
            assertThat(seen).as("%s reaches the wrapped runtime", m.getName())
                    .containsExactly(m.getName() + Arrays.toString(args));
        }
    }

    private static Object zero(Class<?> type) {
        if (type == boolean.class) return false;
        if (type == List.class) return List.of();
        if (type == java.util.Optional.class) return java.util.Optional.empty();
        if (type == long.class) return 0L;
        if (type == int.class) return 0;
        return null;
    }

    private static boolean declaredBy(Class<?> type, Method m) {
        try {
            type.getDeclaredMethod(m.getName(), m.getParameterTypes());
            return true;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }
}
