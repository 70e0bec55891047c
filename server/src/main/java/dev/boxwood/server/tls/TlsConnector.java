package dev.boxwood.server.tls;

import java.nio.file.Path;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/** An HTTPS connector (HTTP/1.1 over TLS) presenting a {@link ServerCertificate}. */
public final class TlsConnector {
    private TlsConnector() {}

    /**
     * The certificate the configuration asks for: the operator's (cert and key) or one generated for the domain.
     *
     * @param tlsDir {@code <dataDir>/tls}
     */
    public static ServerCertificate certificate(Path certFile, Path keyFile, String domain, Path tlsDir) {
        if (certFile != null) return ServerCertificate.given(certFile, keyFile, tlsDir);
        if (domain == null) {
            throw new TlsFailure("TLS with a generated certificate needs a domain for it, e.g. --domain boxwood.localhost");
        }
        return ServerCertificate.generated(tlsDir, domain);
    }

    public static ServerConnector create(Server jetty, HttpConfiguration http, ServerCertificate certificate) {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStorePath(certificate.keyStore().toString());
        ssl.setKeyStoreType("PKCS12");
        ssl.setKeyStorePassword(certificate.password());
        HttpConfiguration https = new HttpConfiguration(http);
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        // Clients reach sandboxes by Host under one wildcard name; the certificate, not SNI, decides what is trusted.
        secure.setSniHostCheck(false);
        https.addCustomizer(secure);
        return new ServerConnector(jetty, new SslConnectionFactory(ssl, "http/1.1"), new HttpConnectionFactory(https));
    }
}
