//! PURE: the app's public connection list (`GET S/api/v1/pools/{pool}/apps/{app}/connections`)
//! as the widget keeps it — one fetch per pool, app and language however many buttons ask — and
//! what it says about one button's connection: its label, whether a return page is registered
//! for this origin, or why a login cannot work (the refusal a click then fires at once instead of
//! opening a window that can only fail).

use milogin_shared as wire;

/// The server's answer, read once per URL (`io::api` reads it from the response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// The server could not be reached (down, blocked by the page's CSP `connect-src`).
    Unreachable,
    /// Anything but 200 with a list: the server's code (when it sent a known one) and message.
    Refused {
        /// The error code of the body, when it is one the widget knows.
        code: Option<wire::ErrorCode>,
        /// The body's message.
        message: String,
    },
    /// The app's connections, in the language asked for.
    Listed {
        /// `(unique_id, display_name)` of each connection.
        connections: Vec<(String, String)>,
        /// `X-Milogin-Return-Page: 1`: a return page is registered for this origin.
        return_page: bool,
    },
}

/// What the list says about one button.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Preflight {
    /// The connection's display name in the button's language.
    pub name: Option<String>,
    /// Why a login cannot work with these settings.
    pub refusal: Option<wire::ErrorBody>,
    /// A login window cut off from the page can still deliver through the return page.
    pub return_page: bool,
}

impl Listing {
    /// The verdict for `connection` of `app`. An unreachable server refuses nothing (the click
    /// then tries, and says what happened).
    pub fn preflight(&self, app: &str, connection: &str) -> Preflight {
        match self {
            Self::Unreachable => Preflight::default(),
            Self::Refused { code, message } => Preflight {
                refusal: code.map(|code| wire::ErrorBody {
                    code,
                    message: message.clone(),
                }),
                ..Preflight::default()
            },
            Self::Listed {
                connections,
                return_page,
            } => match connections.iter().find(|(id, _)| id == connection) {
                Some((_, name)) => Preflight {
                    name: Some(name.clone()),
                    refusal: None,
                    return_page: *return_page,
                },
                None => {
                    let ids: Vec<&str> = connections.iter().map(|(id, _)| id.as_str()).collect();
                    let message = [
                        "Connection \"",
                        connection,
                        "\" is not enabled for app \"",
                        app,
                        "\" (enabled: ",
                        &ids.join(","),
                        "): fix the connection attribute, or add it to pools.apps.connections in \
                         the server config.",
                    ]
                    .concat();
                    Preflight {
                        refusal: Some(wire::ErrorBody {
                            code: wire::ErrorCode::ConnectionNotEnabled,
                            message,
                        }),
                        ..Preflight::default()
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed() -> Listing {
        Listing::Listed {
            connections: vec![
                ("xiaomi".into(), "Xiaomi".into()),
                ("mi-cn".into(), "小米".into()),
            ],
            return_page: true,
        }
    }

    #[test]
    fn a_listed_connection_gets_its_name_and_the_return_page() {
        let p = listed().preflight("app-a", "mi-cn");
        assert_eq!(
            (p.name.as_deref(), p.refusal, p.return_page),
            (Some("小米"), None, true)
        );
    }

    #[test]
    fn an_unlisted_connection_is_refused_with_what_is_enabled() {
        let p = listed().preflight("app-a", "wechat");
        let r = p.refusal.expect("refused");
        assert_eq!(r.code, wire::ErrorCode::ConnectionNotEnabled);
        assert!(r.message.contains("\"wechat\""), "{}", r.message);
        assert!(
            r.message.contains("(enabled: xiaomi,mi-cn)"),
            "{}",
            r.message
        );
        assert_eq!((p.name, p.return_page), (None, false));
    }

    #[test]
    fn a_refusal_carries_a_known_code_and_an_unreachable_server_none() {
        let refused = Listing::Refused {
            code: Some(wire::ErrorCode::UnknownApp),
            message: "no app".into(),
        };
        let r = refused.preflight("a", "xiaomi").refusal.unwrap();
        assert_eq!(
            (r.code, r.message.as_str()),
            (wire::ErrorCode::UnknownApp, "no app")
        );
        let odd = Listing::Refused {
            code: None,
            message: "teapot".into(),
        };
        assert_eq!(odd.preflight("a", "xiaomi"), Preflight::default());
        assert_eq!(
            Listing::Unreachable.preflight("a", "xiaomi"),
            Preflight::default()
        );
    }
}
