//! PURE: the element's attributes (or `login()`'s options) parsed into a [`Config`] — again on
//! every attribute change, since a mounted button follows its attributes live — and the two
//! locales' texts. Tested natively.

/// Seconds to wait for a result when `timeout` is absent or invalid.
pub const DEFAULT_TIMEOUT_S: u32 = 300;

/// Button colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// White, grey border, dark text.
    Light,
    /// #1f1f1f background, white text.
    Dark,
    /// Xiaomi orange background, white text.
    Brand,
    /// Light or dark after the visitor's `prefers-color-scheme`.
    Auto,
}

/// Button height and font size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// 32 px.
    Small,
    /// 40 px.
    Medium,
    /// 48 px.
    Large,
}

/// Button outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Rounded rectangle with the label.
    Rect,
    /// Fully rounded ends with the label.
    Pill,
    /// Square with the mark only; the label becomes its accessible name (`aria-label`).
    Icon,
}

/// How the login window is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A popup; the result comes back with `postMessage` (or the return page's relay).
    Popup,
    /// The whole page navigates; the result comes back to `redirect-uri` (default: this page).
    Redirect,
}

/// The two languages of the button's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// English.
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Locale {
    /// `zh…` → Chinese, anything else → English (BCP 47 tags, case-insensitive).
    pub fn from_tag(tag: &str) -> Self {
        if tag.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("zh")) {
            Self::ZhCn
        } else {
            Self::En
        }
    }

    /// The BCP 47 tag the server is asked in (`en`, `zh-CN`).
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::ZhCn => "zh-CN",
        }
    }

    /// The texts in this locale.
    pub fn texts(self) -> &'static Texts {
        match self {
            Self::En => &EN,
            Self::ZhCn => &ZH_CN,
        }
    }
}

/// Everything the button says.
#[derive(Debug)]
pub struct Texts {
    /// Label until the connection's display name is known.
    pub label: &'static str,
    /// Live region: the popup opened.
    pub opened: &'static str,
    /// Live region: the browser blocked the popup.
    pub blocked: &'static str,
    /// Live region: the popup was closed without a result.
    pub cancelled: &'static str,
    /// Live region: logged in.
    pub signed_in: &'static str,
    /// Live region: the login failed.
    pub failed: &'static str,
    /// Live region: no answer in time.
    pub timed_out: &'static str,
}

const EN: Texts = Texts {
    label: "Sign in with Xiaomi",
    opened: "Xiaomi login window opened.",
    blocked: "The browser blocked the login window.",
    cancelled: "Login cancelled.",
    signed_in: "Signed in.",
    failed: "Login failed.",
    timed_out: "Login timed out.",
};

const ZH_CN: Texts = Texts {
    label: "使用小米账号登录",
    opened: "小米登录窗口已打开。",
    blocked: "浏览器拦截了登录窗口。",
    cancelled: "已取消登录。",
    signed_in: "登录成功。",
    failed: "登录失败。",
    timed_out: "登录超时。",
};

/// What [`Config::parse`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The settings, with defaults where values were absent or invalid.
    pub config: Config,
    /// What the console should say (one sentence each, without the `milogin:` prefix).
    pub problems: Vec<String>,
    /// False when the button cannot work: a required attribute is missing. The button is then
    /// shown disabled.
    pub usable: bool,
}

/// One button's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `pool`
    pub pool: String,
    /// `app`
    pub app: String,
    /// `connection`
    pub connection: String,
    /// `display-name`: overrides the connection's display name.
    pub display_name: Option<String>,
    /// `theme`
    pub theme: Theme,
    /// `size`
    pub size: Size,
    /// `shape`
    pub shape: Shape,
    /// `locale`, else the element's own `lang`, else the page's language.
    pub locale: Locale,
    /// `width` in CSS pixels (`"240"` or `"240px"`): the button's width, never wider than its
    /// container. `None`: as wide as its content.
    pub width: Option<u16>,
    /// `mode`. `popup.rs` reads `redirect-uri` at the click (default: this page without its
    /// fragment).
    pub mode: Mode,
    /// `timeout` in seconds.
    pub timeout_s: u32,
    /// `fallback="redirect"`: redirect when the popup is blocked.
    pub redirect_fallback: bool,
    /// `in-app="popup"`: keep popup mode in in-app browsers and webviews, where the default
    /// (`in-app="redirect"`) switches to redirect mode.
    pub in_app_popup: bool,
}

impl Config {
    /// Parses attributes through `get(name)`. `default_locale` is the page's language tag.
    /// Absent or invalid values get defaults; every problem is reported for the console.
    pub fn parse(get: &dyn Fn(&str) -> Option<String>, default_locale: &str) -> Parsed {
        let mut problems = Vec::new();
        let p = &mut problems;
        let (pool, app, connection) = (
            required(get, "pool", p),
            required(get, "app", p),
            required(get, "connection", p),
        );
        let usable = p.is_empty();
        let theme = [Theme::Light, Theme::Dark, Theme::Brand, Theme::Auto]
            [pick(get, "theme", &["light", "dark", "brand", "auto"], p)];
        let size = [Size::Medium, Size::Small, Size::Large]
            [pick(get, "size", &["medium", "small", "large"], p)];
        let shape = [Shape::Rect, Shape::Pill, Shape::Icon]
            [pick(get, "shape", &["rect", "pill", "icon"], p)];
        let mode = [Mode::Popup, Mode::Redirect][pick(get, "mode", &["popup", "redirect"], p)];
        let redirect_fallback = pick(get, "fallback", &["none", "redirect"], p) == 1;
        let in_app_popup = pick(get, "in-app", &["redirect", "popup"], p) == 1;
        let locale = match optional(get, "locale") {
            None => {
                Locale::from_tag(&optional(get, "lang").unwrap_or_else(|| default_locale.into()))
            }
            Some(v) => {
                let known = ["en", "zh"]
                    .iter()
                    .any(|l| v.get(..2).is_some_and(|p| p.eq_ignore_ascii_case(l)));
                if !known {
                    p.push(["locale=\"", &v, "\" is not zh-CN or en; using en"].concat());
                }
                Locale::from_tag(&v)
            }
        };
        let timeout_s = match get("timeout") {
            None => DEFAULT_TIMEOUT_S,
            Some(v) => match v.parse::<u32>() {
                Ok(s) if (1..=3600).contains(&s) => s,
                _ => {
                    p.push(
                        [
                            "timeout=\"",
                            &v,
                            "\" is not a number of seconds in 1..3600; using 300",
                        ]
                        .concat(),
                    );
                    DEFAULT_TIMEOUT_S
                }
            },
        };
        let width = optional(get, "width").and_then(|v| {
            let n = v.strip_suffix("px").unwrap_or(&v).parse::<u16>();
            let n = n.ok().filter(|n| (1..=2000).contains(n));
            if n.is_none() {
                p.push(
                    [
                        "width=\"",
                        &v,
                        "\" is not a number of pixels in 1..2000; ignored",
                    ]
                    .concat(),
                );
            }
            n
        });
        let config = Self {
            pool,
            app,
            connection,
            display_name: optional(get, "display-name"),
            theme,
            size,
            shape,
            locale,
            width,
            mode,
            redirect_fallback,
            in_app_popup,
            timeout_s,
        };
        Parsed {
            config,
            problems,
            usable,
        }
    }
}

/// The value, `None` when absent or empty. Values are not trimmed (like HTML's own attributes).
fn optional(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name).filter(|v| !v.is_empty())
}

fn required(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    problems: &mut Vec<String>,
) -> String {
    optional(get, name).unwrap_or_else(|| {
        problems.push(["the required attribute `", name, "` is missing or empty"].concat());
        String::new()
    })
}

/// The index of the value in `allowed` (ASCII case-insensitive); 0 (the default) when absent or
/// unknown.
fn pick(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    allowed: &[&str],
    problems: &mut Vec<String>,
) -> usize {
    let Some(v) = get(name) else { return 0 };
    allowed
        .iter()
        .position(|a| a.eq_ignore_ascii_case(&v))
        .unwrap_or_else(|| {
            let mut p = [name, "=\"", &v, "\" is not one of "].concat();
            for a in allowed {
                p.push_str(a);
                p.push('|');
            }
            p.pop();
            p.push_str("; using ");
            p.push_str(allowed[0]);
            problems.push(p);
            0
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(attrs: &[(&str, &str)], lang: &str) -> Result<(Config, Vec<String>), Vec<String>> {
        let map: HashMap<String, String> = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = Config::parse(&|k| map.get(k).cloned(), lang);
        if p.usable {
            Ok((p.config, p.problems))
        } else {
            Err(p.problems)
        }
    }

    const BASE: [(&str, &str); 3] = [
        ("pool", "demo-pool"),
        ("app", "demo-app"),
        ("connection", "xiaomi"),
    ];

    #[test]
    fn defaults() {
        let (c, problems) = parse(&BASE, "en-US").unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            (c.pool.as_str(), c.app.as_str(), c.connection.as_str()),
            ("demo-pool", "demo-app", "xiaomi")
        );
        assert_eq!(
            (c.theme, c.size, c.shape, c.mode),
            (Theme::Light, Size::Medium, Shape::Rect, Mode::Popup)
        );
        assert_eq!(
            (c.locale, c.timeout_s, c.redirect_fallback, c.in_app_popup),
            (Locale::En, 300, false, false)
        );
        assert_eq!(c.display_name, None);
    }

    #[test]
    fn every_attribute() {
        let mut attrs = BASE.to_vec();
        attrs.extend([
            ("display-name", "Continue with Mi"),
            ("theme", "Brand"),
            ("size", "large"),
            ("shape", "icon"),
            ("locale", "zh-CN"),
            ("mode", "redirect"),
            ("redirect-uri", "https://shop.example/done"),
            ("timeout", "60"),
            ("fallback", "redirect"),
            ("in-app", "POPUP"),
        ]);
        let (c, problems) = parse(&attrs, "en").unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(c.display_name.as_deref(), Some("Continue with Mi"));
        assert_eq!(
            (c.theme, c.size, c.shape),
            (Theme::Brand, Size::Large, Shape::Icon)
        );
        assert_eq!(
            (
                c.locale,
                c.mode,
                c.timeout_s,
                c.redirect_fallback,
                c.in_app_popup
            ),
            (Locale::ZhCn, Mode::Redirect, 60, true, true)
        );
    }

    #[test]
    fn missing_required_attributes_are_named() {
        let problems = parse(&[("pool", "p"), ("connection", "")], "en").unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("`app`"), "{problems:?}");
        assert!(problems[1].contains("`connection`"), "{problems:?}");
    }

    #[test]
    fn bad_values_fall_back_with_a_warning() {
        let mut attrs = BASE.to_vec();
        attrs.extend([("theme", "neon"), ("timeout", "-5"), ("in-app", "never")]);
        let (c, problems) = parse(&attrs, "en").unwrap();
        assert_eq!(
            (c.theme, c.timeout_s, c.in_app_popup),
            (Theme::Light, 300, false)
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("theme=\"neon\" is not one of light|dark|brand|auto"),
            "{problems:?}"
        );
        assert!(
            problems[1]
                .starts_with("in-app=\"never\" is not one of redirect|popup; using redirect"),
            "{problems:?}"
        );
        for t in ["0", "3601", "1.5", "abc"] {
            let mut attrs = BASE.to_vec();
            attrs.push(("timeout", t));
            assert_eq!(parse(&attrs, "en").unwrap().0.timeout_s, 300, "{t}");
        }
    }

    #[test]
    fn redirect_mode_works_without_a_redirect_uri() {
        // The login then returns to this page (its URL without the fragment).
        let mut attrs = BASE.to_vec();
        attrs.extend([("mode", "redirect"), ("fallback", "redirect")]);
        let (c, problems) = parse(&attrs, "en").unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!((c.mode, c.redirect_fallback), (Mode::Redirect, true));
    }

    #[test]
    fn an_unknown_locale_warns_and_falls_back_to_english() {
        let mut attrs = BASE.to_vec();
        attrs.push(("locale", "fr"));
        let (c, problems) = parse(&attrs, "zh-CN").unwrap();
        assert_eq!(c.locale, Locale::En);
        assert!(
            problems.iter().any(|p| p.contains("locale=\"fr\"")),
            "{problems:?}"
        );
        assert_eq!(Locale::ZhCn.tag(), "zh-CN");
    }

    #[test]
    fn width_takes_pixels_and_names_a_bad_value() {
        for (v, want) in [
            ("240", Some(240)),
            ("96px", Some(96)),
            ("0", None),
            ("wide", None),
        ] {
            let mut attrs = BASE.to_vec();
            attrs.push(("width", v));
            let (c, problems) = parse(&attrs, "en").unwrap();
            assert_eq!(c.width, want, "{v}");
            assert_eq!(
                problems.len(),
                usize::from(want.is_none()),
                "{v}: {problems:?}"
            );
        }
        assert_eq!(parse(&BASE, "en").unwrap().0.width, None);
    }

    #[test]
    fn the_elements_own_lang_comes_before_the_page_and_after_locale() {
        let mut attrs = BASE.to_vec();
        attrs.push(("lang", "zh-CN"));
        assert_eq!(parse(&attrs, "en").unwrap().0.locale, Locale::ZhCn);
        attrs.push(("locale", "en"));
        assert_eq!(parse(&attrs, "zh").unwrap().0.locale, Locale::En);
    }

    #[test]
    fn locale_defaults_to_the_page_language() {
        assert_eq!(parse(&BASE, "zh").unwrap().0.locale, Locale::ZhCn);
        assert_eq!(parse(&BASE, "zh-Hans-CN").unwrap().0.locale, Locale::ZhCn);
        assert_eq!(parse(&BASE, "ZH-tw").unwrap().0.locale, Locale::ZhCn);
        assert_eq!(parse(&BASE, "").unwrap().0.locale, Locale::En);
        assert_eq!(parse(&BASE, "z").unwrap().0.locale, Locale::En);
        let mut attrs = BASE.to_vec();
        attrs.push(("locale", "en"));
        assert_eq!(parse(&attrs, "zh-CN").unwrap().0.locale, Locale::En);
        assert_eq!(Locale::ZhCn.texts().label, "使用小米账号登录");
        assert_eq!(Locale::En.texts().label, "Sign in with Xiaomi");
    }
}
