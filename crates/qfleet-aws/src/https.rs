//! The HTTPS client of every AWS call: the SDK's own (hyper 1 and rustls, the system's trusted
//! certificates, `HTTPS_PROXY`/`NO_PROXY` from the environment as the SDK reads them for
//! current behavior versions), with rustls' *ring* crypto provider instead of the SDK
//! default's aws-lc. Both are maintained rustls providers
//! (<https://docs.rs/rustls/latest/rustls/crypto/index.html>); aws-lc's C build is about 30 s
//! of one core at the start of a cold build, on its critical path (every SDK crate waits for
//! the HTTP client), and qfleet needs neither FIPS nor post-quantum key exchange of it.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::Provider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The client [`super::Aws`] gives the SDK configuration (and so every client and the
/// credential providers).
pub(super) fn client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut conn = ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        conn.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            conn.set_sleep_impl(components.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}
