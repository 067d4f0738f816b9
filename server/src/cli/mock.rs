//! `milogin mock-xiaomi`: the standalone mock Xiaomi (crate `milogin-mock-xiaomi`) on one port.

use std::process::ExitCode;

/// Serves the mock on `port` with the `CLIENT_ID:SECRET` clients (default: the demo client).
pub(super) async fn run(port: u16, clients: &[String]) -> Result<ExitCode, String> {
    let mut cfg = milogin_mock_xiaomi::MockConfig::default();
    if !clients.is_empty() {
        cfg.clients = clients
            .iter()
            .map(|c| {
                let (id, secret) = c
                    .split_once(':')
                    .ok_or(format!("--client {c:?}: write CLIENT_ID:SECRET"))?;
                Ok(milogin_mock_xiaomi::MockClient {
                    client_id: id.into(),
                    client_secret: secret.into(),
                    redirect_uris: vec![],
                })
            })
            .collect::<Result<_, String>>()?;
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on port {port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("mock Xiaomi listening on http://{addr}");
    for c in &cfg.clients {
        println!("  client_id {}  (secret configured)", c.client_id);
    }
    milogin_mock_xiaomi::Mock::new(cfg)
        .serve(listener)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
