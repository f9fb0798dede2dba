//! The client's address: the TCP peer, or what a trusted reverse proxy says it is.
//!
//! `X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the TCP peer is one of
//! `PASSKEYD_TRUSTED_PROXIES`; from anyone else they are ignored, so a client cannot choose
//! its own address. `X-Forwarded-For` is read from the right (the entry the nearest proxy
//! added) and the first address that is not itself a trusted proxy is the client.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The resolved client address, a request extension for handlers (e.g. a rate limiter).
/// Present whenever the server runs with connect info (`into_make_service_with_connect_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The scheme the client used: `X-Forwarded-Proto` from a trusted proxy, else `http`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientProto(pub &'static str);

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    #[must_use]
    pub fn new(nets: &[IpNet]) -> Self {
        Self(nets.into())
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim().trim_matches('"');
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

/// The client address and scheme of a request that arrived from `peer`.
#[must_use]
pub fn resolve(
    trusted: &TrustedProxies,
    peer: IpAddr,
    headers: &HeaderMap,
) -> (ClientIp, ClientProto) {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return (ClientIp(peer), ClientProto("http"));
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // An unreadable entry ends the chain: what lies beyond it cannot be trusted.
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    let proto = headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .map(str::trim);
    let proto = match proto {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    (ClientIp(client), ClientProto(proto))
}

/// Middleware: puts [`ClientIp`] and [`ClientProto`] into the request's extensions.
pub async fn middleware(
    State(trusted): State<TrustedProxies>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(peer) = peer {
        let (ip, proto) = resolve(&trusted, peer, req.headers());
        req.extensions_mut().insert(ip);
        req.extensions_mut().insert(proto);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn trusted(list: &[&str]) -> TrustedProxies {
        let nets: Vec<IpNet> = list.iter().map(|n| n.parse().unwrap()).collect();
        TrustedProxies::new(&nets)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_cannot_choose_their_address() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-proto", "https"),
        ]);
        let (client, proto) = resolve(&trusted(&[]), ip("198.51.100.1"), &h);
        assert_eq!(client, ClientIp(ip("198.51.100.1")));
        assert_eq!(proto, ClientProto("http"));
        let (client, _) = resolve(&trusted(&["10.0.0.0/8"]), ip("198.51.100.1"), &h);
        assert_eq!(client, ClientIp(ip("198.51.100.1")));
    }

    #[test]
    fn trusted_proxies_name_the_client() {
        let t = trusted(&["10.0.0.0/8", "127.0.0.1/32"]);
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("x-forwarded-proto", "https"),
        ]);
        let (client, proto) = resolve(&t, ip("10.1.2.3"), &h);
        assert_eq!(client, ClientIp(ip("203.0.113.7")));
        assert_eq!(proto, ClientProto("https"));

        // A forged entry to the left of the real client is ignored; trusted hops are skipped.
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1, 203.0.113.7"),
            ("x-forwarded-for", "10.9.9.9"),
        ]);
        let (client, proto) = resolve(&t, ip("127.0.0.1"), &h);
        assert_eq!(client, ClientIp(ip("203.0.113.7")));
        assert_eq!(proto, ClientProto("http"));

        // Ports, IPv6 and IPv4-mapped peers.
        let h = headers(&[("x-forwarded-for", "[2001:db8::1]:443")]);
        let (client, _) = resolve(&t, ip("::ffff:10.0.0.1"), &h);
        assert_eq!(client, ClientIp(ip("2001:db8::1")));

        // Garbage ends the chain at the last readable hop; no header means the peer.
        let h = headers(&[("x-forwarded-for", "203.0.113.7, unknown")]);
        assert_eq!(resolve(&t, ip("10.0.0.1"), &h).0, ClientIp(ip("10.0.0.1")));
        assert_eq!(
            resolve(&t, ip("10.0.0.1"), &HeaderMap::new()).0,
            ClientIp(ip("10.0.0.1"))
        );
    }

    /// Over real HTTP: handlers find the resolved address in the request's extensions.
    #[tokio::test]
    async fn handlers_see_the_client_ip() {
        async fn echo(ip: Option<axum::Extension<ClientIp>>) -> String {
            ip.map(|axum::Extension(ClientIp(ip))| ip.to_string())
                .unwrap_or_default()
        }
        let cases: [(&[&str], &str); 2] = [(&[], "127.0.0.1"), (&["127.0.0.1/32"], "203.0.113.7")];
        for (list, expected) in cases {
            let app = axum::Router::new()
                .route("/", axum::routing::get(echo))
                .layer(axum::middleware::from_fn_with_state(
                    trusted(list),
                    middleware,
                ));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .await
            });
            let body = reqwest::Client::new()
                .get(format!("http://{addr}/"))
                .header("x-forwarded-for", "203.0.113.7")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(body, expected, "trusted: {list:?}");
        }
    }
}
