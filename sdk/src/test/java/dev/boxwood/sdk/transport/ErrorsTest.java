package dev.boxwood.sdk.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxwood.sdk.AuthenticationException;
import dev.boxwood.sdk.InvalidArgumentException;
import dev.boxwood.sdk.NotFoundException;
import dev.boxwood.sdk.RateLimitException;
import dev.boxwood.sdk.SandboxException;
import dev.boxwood.sdk.SandboxNotFoundException;
import dev.boxwood.sdk.TimeoutException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ErrorsTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void controlPlaneErrorsKeepTheServersMessage() {
        assertThat(Errors.fromHttp(401, b("{\"code\":401,\"message\":\"Invalid API key\"}"), false))
                .isInstanceOf(AuthenticationException.class).hasMessage("Invalid API key");
        assertThat(Errors.fromHttp(404, b("{\"code\":404,\"message\":\"sandbox abc not found\"}"), true))
                .isInstanceOf(SandboxNotFoundException.class).hasMessage("sandbox abc not found");
        assertThat(Errors.fromHttp(400, b("{\"code\":400,\"message\":\"Timeout must be greater than 0\"}"), false))
                .isInstanceOf(InvalidArgumentException.class);
        assertThat(Errors.fromHttp(429, b("{\"code\":429,\"message\":\"slow down\"}"), false))
                .isInstanceOf(RateLimitException.class);
        SandboxException other = Errors.fromHttp(500, b("{\"code\":500,\"message\":\"boom\"}"), false);
        assertThat(other).hasMessage("500: boom").isExactlyInstanceOf(SandboxException.class);
        assertThat(other.status()).isEqualTo(500);
    }

    @Test
    void theBodysCodeWinsOverTheStatus() {
        assertThat(Errors.fromHttp(200, b("{\"code\":404,\"message\":\"gone\"}"), false))
                .isInstanceOf(NotFoundException.class);
    }

    @Test
    void aGoneSandboxBehindTheProxyIsATimeout() {
        assertThat(Errors.fromHttp(502, b("{\"sandboxId\":\"x\",\"message\":\"The sandbox was not found\",\"code\":502}"),
                false)).isInstanceOf(TimeoutException.class).hasMessageContaining("The sandbox was not found");
        assertThat(Errors.fromHttp(502, b("<html>bad gateway</html>"), false)).isInstanceOf(TimeoutException.class);
    }

    @Test
    void unaryRpcErrorsWithoutJsonFallBackToTheStatusTable() {
        assertThat(ConnectClient.errorFromResponse(503, b("")))
                .isInstanceOf(TimeoutException.class);
        // Connect maps a bare 404 to "unimplemented", which is not a missing file.
        SandboxException bare404 = ConnectClient.errorFromResponse(404, b("not here"));
        assertThat(bare404).isNotInstanceOf(NotFoundException.class);
        assertThat(bare404.code()).isEqualTo("unimplemented");
        assertThat(ConnectClient.errorFromResponse(404, b("{\"code\":\"not_found\",\"message\":\"no file\"}")))
                .isInstanceOf(NotFoundException.class).hasMessage("no file");
        assertThat(ConnectClient.errorFromResponse(409, b("{\"code\":\"already_exists\",\"message\":\"dir\"}")).code())
                .isEqualTo("already_exists");
    }

    @Test
    void agentVersionsCompareNumerically() {
        assertThat(Versions.atLeast("0.6.13", "0.5.7")).isTrue();
        assertThat(Versions.atLeast("0.5.10", "0.5.7")).isTrue();
        assertThat(Versions.atLeast("0.3.9", "0.4.0")).isFalse();
        assertThat(Versions.atLeast("v0.6", "0.6.0")).isTrue();
        assertThat(Versions.atLeast("0.4.0-dev", "0.4.0")).isTrue();
        assertThat(Versions.atLeast("dev", "0.4.0")).isTrue();
    }
}
