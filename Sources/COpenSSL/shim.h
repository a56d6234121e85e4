#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* SSL_CTX_set_min_proto_version and SSL_set_tlsext_host_name are macros over SSL_CTX_ctrl and
 * SSL_ctrl, which Swift cannot call: these typed wrappers are how Swift code reaches them. */
static inline int cairn_ssl_ctx_set_min_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int cairn_ssl_set_server_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
static inline int cairn_tls1_2_version(void) { return TLS1_2_VERSION; }
static inline int cairn_tls1_3_version(void) { return TLS1_3_VERSION; }
