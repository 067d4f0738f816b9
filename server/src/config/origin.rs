//! Redirect and return URIs: absolute http(s) URLs without a fragment or credentials. (Origins
//! are `domain::Origin`.) And the transport rule for all three: an https server hands its
//! tokens only to https pages, or to loopback ones (a developer's machine).

use super::check::Problems;
use super::raw::RawPool;
use url::{Host, Url};

/// True for a plain-http URL (or origin) whose host is not loopback (`localhost`,
/// `*.localhost`, 127.0.0.0/8, `::1`): a page that would receive a token unencrypted.
fn plain_http_off_loopback(s: &str) -> bool {
    let Ok(u) = Url::parse(s) else {
        return false; // reported by the shape checks
    };
    if u.scheme() != "http" {
        return false;
    }
    match u.host() {
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d != "localhost" && !d.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => !ip.is_loopback(),
        Some(Host::Ipv6(ip)) => !ip.is_loopback(),
        None => false,
    }
}

/// With an https `server.public_url` (unless `server.allow_plain_http_apps`): every app origin,
/// redirect URI and return page on plain http off loopback is a problem (RFC 9700 §2.6: the
/// id_token would cross the network unencrypted to it).
pub(super) fn check_plain_http(p: &mut Problems, pools: &[RawPool]) {
    for (pi, pool) in pools.iter().enumerate() {
        for (ai, app) in pool.apps.iter().enumerate() {
            for (field, list) in [
                ("origins", &app.origins),
                ("redirect_uris", &app.redirect_uris),
                ("return_uris", &app.return_uris),
            ] {
                for (i, s) in list.iter().enumerate() {
                    if plain_http_off_loopback(s) {
                        p.add(
                            format!("pools[{pi}].apps[{ai}].{field}[{i}]"),
                            format!("{s:?} is plain http while server.public_url is https: the token would reach that page unencrypted (RFC 9700 §2.6). Serve the page over https:// (http:// is allowed only on loopback: localhost, 127.0.0.1, [::1]); for a lab without TLS set server.allow_plain_http_apps = true"),
                        );
                    }
                }
            }
        }
    }
}

pub(super) fn check_redirect_uri(s: &str) -> Result<(), &'static str> {
    if s.bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\')
    {
        return Err("contains whitespace, control characters or backslashes");
    }
    let u = Url::parse(s).map_err(|_| "is not an absolute URL")?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err("must be an absolute http(s) URL");
    }
    if u.fragment().is_some() {
        return Err("must not have a fragment (the result is delivered in the fragment)");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain credentials");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::plain_http_off_loopback as plain;

    #[test]
    fn plain_http_is_refused_off_loopback_only() {
        for bad in [
            "http://shop.example.com",
            "http://shop.example.com/done",
            "http://10.0.0.1:8080",
            "http://[2001:db8::1]/x",
            "http://localhost.example.com",
        ] {
            assert!(plain(bad), "{bad}");
        }
        for ok in [
            "https://shop.example.com",
            "http://localhost:3000",
            "http://LOCALHOST/x",
            "http://app.localhost",
            "http://127.0.0.1",
            "http://127.9.9.9:1/x",
            "http://[::1]:3000",
            "not a url",
        ] {
            assert!(!plain(ok), "{ok}");
        }
    }
}
