package dev.boxwood.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generated wildcard certificate, an operator's PEM pair, and the errors bad TLS settings give. */
class ServerCertificateTest {
    @TempDir
    Path dir;

    @Test
    void generatedLeafCoversTheDomainKeepsItsCaAndFollowsADomainChange() throws Exception {
        ServerCertificate first = ServerCertificate.generated(dir, "boxwood.test");
        X509Certificate leaf = leaf(first);
        assertThat(leaf.getSubjectAlternativeNames().stream().map(n -> n.get(1).toString()).toList())
                .contains("*.boxwood.test", "boxwood.test", "localhost", "127.0.0.1");
        X509Certificate ca = (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificate(Files.newInputStream(first.caFile()));
        leaf.verify(ca.getPublicKey());
        assertThat(ca.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        byte[] caBytes = Files.readAllBytes(first.caFile());

        // Same domain: nothing changes. Another domain: a new leaf from the same CA.
        ServerCertificate again = ServerCertificate.generated(dir, "boxwood.test");
        assertThat(leaf(again)).isEqualTo(leaf);
        ServerCertificate moved = ServerCertificate.generated(dir, "other.test");
        assertThat(leaf(moved).getSubjectAlternativeNames().stream().map(n -> n.get(1).toString()).toList())
                .contains("*.other.test").doesNotContain("*.boxwood.test");
        leaf(moved).verify(ca.getPublicKey());
        assertThat(Files.readAllBytes(moved.caFile())).isEqualTo(caBytes);
    }

    @Test
    void anOperatorsPemPairIsServedAndBadInputIsExplained() throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "2",
                "-subj", "/CN=given.test", "-addext", "subjectAltName=DNS:*.given.test").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).isZero();
        ServerCertificate given = ServerCertificate.given(cert, key, dir.resolve("tls"));
        assertThat(given.caFile()).isNull();
        assertThat(leaf(given).getSubjectX500Principal().getName()).isEqualTo("CN=given.test");

        // Errors an operator can act on.
        Path rsaPkcs1 = dir.resolve("pkcs1.pem");
        Files.writeString(rsaPkcs1, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
        assertThatThrownBy(() -> ServerCertificate.given(cert, rsaPkcs1, dir.resolve("tls")))
                .isInstanceOf(TlsFailure.class).hasMessageContaining("PKCS#8");
        assertThatThrownBy(() -> ServerCertificate.given(key, key, dir.resolve("tls")))
                .isInstanceOf(TlsFailure.class).hasMessageContaining("cannot read the certificate");
        assertThatThrownBy(() -> TlsConnector.certificate(null, null, null, dir.resolve("tls")))
                .isInstanceOf(TlsFailure.class).hasMessageContaining("--domain");
        assertThatThrownBy(() -> ServerCertificate.generated(dir.resolve("tls"), "bad domain!"))
                .isInstanceOf(TlsFailure.class).hasMessageContaining("not a DNS name");
        assertThatThrownBy(() -> new dev.boxwood.server.router.IngressConfig(true, cert, null, 10))
                .isInstanceOf(IllegalArgumentException.class);
    }

    static X509Certificate leaf(ServerCertificate c) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(c.keyStore())) {
            ks.load(in, c.password().toCharArray());
        }
        List<String> aliases = java.util.Collections.list(ks.aliases());
        assertThat(aliases).contains("server");
        assertThat(ks.isKeyEntry("server")).isTrue();
        return (X509Certificate) ks.getCertificate("server");
    }
}
