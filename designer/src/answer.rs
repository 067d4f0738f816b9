//! PURE: what the server answers for the designer's pool, app and connection — the labels the
//! button would show, or the refusal with its fix — and whether a site's origin is registered
//! for the app. Built only from what the public connection list answers (`api` fetches it).
//! Native tests below.

use milogin_shared::{ConnectionInfo, ErrorBody, ErrorCode};

/// What the server would make of the button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A required id is not typed yet (the field names).
    Incomplete(Vec<&'static str>),
    /// The button works: the labels it shows without `display-name`, in English and Chinese.
    Label {
        /// `locale="en"`.
        en: String,
        /// `locale="zh-CN"`.
        zh: String,
    },
    /// The button cannot work: the code and the message that says what to change.
    Refused(ErrorBody),
}

/// The fields among `(name, value)` that are empty.
pub fn missing(fields: &[(&'static str, &str)]) -> Vec<&'static str> {
    fields
        .iter()
        .filter(|(_, v)| v.trim().is_empty())
        .map(|(n, _)| *n)
        .collect()
}

/// The answer for `connection` of `app` in `pool`, from the connection list in English and in
/// Chinese (each the list, or the server's refusal). A connection the app does not list is
/// refused as the widget refuses it at the click (`connection_not_enabled`).
pub fn answer(
    (pool, app, connection): (&str, &str, &str),
    en: Result<Vec<ConnectionInfo>, ErrorBody>,
    zh: Result<Vec<ConnectionInfo>, ErrorBody>,
) -> Answer {
    let (en, zh) = match (en, zh) {
        (Ok(en), Ok(zh)) => (en, zh),
        (Err(e), _) | (_, Err(e)) => return Answer::Refused(e),
    };
    let label = |list: &[ConnectionInfo]| {
        list.iter()
            .find(|c| c.unique_id == connection)
            .map(|c| c.display_name.clone())
    };
    match (label(&en), label(&zh)) {
        (Some(en), Some(zh)) => Answer::Label { en, zh },
        _ => {
            let ids: Vec<_> = en.iter().map(|c| c.unique_id.as_str()).collect();
            let has = if ids.is_empty() {
                "it has none".to_owned()
            } else {
                format!("it has {}", ids.join(", "))
            };
            Answer::Refused(ErrorBody {
                code: ErrorCode::ConnectionNotEnabled,
                message: format!(
                    "App {app:?} of pool {pool:?} does not enable connection {connection:?} ({has}): fix the button's connection attribute, or add it to that app's connections in the server config ([[pools.apps]] connections)."
                ),
            })
        }
    }
}

/// Whether a site's origin may use the app, as the connection list answers a page of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginAnswer {
    /// Registered; `return_page`: the app also has a return page for it (a login cut off from
    /// the page by a `Cross-Origin-Opener-Policy` still arrives).
    Registered {
        /// `X-Milogin-Return-Page: 1`.
        return_page: bool,
    },
    /// Not registered (`origin_not_allowed`, with the key to add it to), not an origin, or the
    /// pool or app is unknown.
    Refused(ErrorBody),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[(&str, &str)]) -> Vec<ConnectionInfo> {
        items
            .iter()
            .map(|(id, name)| ConnectionInfo {
                unique_id: (*id).into(),
                kind: "xiaomi".into(),
                display_name: (*name).into(),
            })
            .collect()
    }

    const IDS: (&str, &str, &str) = ("p", "a", "xiaomi");

    #[test]
    fn the_connection_s_labels_in_both_languages() {
        let en = list(&[("other", "Other"), ("xiaomi", "Sign in with Xiaomi")]);
        let zh = list(&[("other", "其他"), ("xiaomi", "使用小米账号登录")]);
        assert_eq!(
            answer(IDS, Ok(en), Ok(zh)),
            Answer::Label {
                en: "Sign in with Xiaomi".into(),
                zh: "使用小米账号登录".into()
            }
        );
    }

    #[test]
    fn a_refusal_is_passed_on_and_an_unlisted_connection_is_refused_with_the_fix() {
        let refusal = ErrorBody {
            code: ErrorCode::UnknownApp,
            message: "Pool \"p\" has no app \"a\"".into(),
        };
        assert_eq!(
            answer(IDS, Err(refusal.clone()), Ok(vec![])),
            Answer::Refused(refusal)
        );
        let en = list(&[("xiaomi-2", "Two")]);
        let Answer::Refused(e) = answer(IDS, Ok(en.clone()), Ok(en)) else {
            panic!("refused")
        };
        assert_eq!(e.code, ErrorCode::ConnectionNotEnabled);
        assert!(
            e.message.contains("(it has xiaomi-2)")
                && e.message.contains("[[pools.apps]] connections"),
            "{}",
            e.message
        );
        let Answer::Refused(e) = answer(IDS, Ok(vec![]), Ok(vec![])) else {
            panic!("refused")
        };
        assert!(e.message.contains("(it has none)"), "{}", e.message);
    }

    #[test]
    fn missing_names_the_empty_fields() {
        assert_eq!(
            missing(&[("pool", "p"), ("app", " "), ("connection", "")]),
            vec!["app", "connection"]
        );
        assert!(missing(&[("pool", "p")]).is_empty());
    }
}
